"""Personal data of one person (DSGVO Art. 15 and 17): find it, export it, pseudonymise it.

``export.export_person`` gathers what is stored about an address, ``erase.erase_person``
replaces name and address by a pseudonym; both read the rows ``selection`` finds.
"""
