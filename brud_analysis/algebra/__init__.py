"""Exact and certified polynomial machinery: the solver (:mod:`.solve`), Groebner bases
(:mod:`.groebner`), modular charpolys (:mod:`.modular`), surds (:mod:`.surds`), exact input
(:mod:`.exact`) and certified real algebraic numbers (:mod:`.boxes`)."""
