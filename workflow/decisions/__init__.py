"""The decisions register: Beschlüsse, Empfehlungen, Aufträge and Änderungsvorschläge of bodies."""
