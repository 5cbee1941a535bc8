"""Portal: the province's connector to the national public service portal
(Cổng Dịch vụ công quốc gia, DVCQG) through its integration platform (LGSP)."""
