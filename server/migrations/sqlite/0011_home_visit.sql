-- Issue 16, item 2, home-visit dispatch (上门专班). A home visit is a record
-- like any other (collection 'home_visit', its household beside it), so no
-- table changes. A home-visit team's tested result now counts as a home
-- test (上门核酸): every compound's kept figures are counted again.
DELETE FROM compound_figures;
