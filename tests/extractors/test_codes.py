from conftest import make_note, one

RRF_ROWS = [
    # RXCUI|LAT|TS|LUI|STT|SUI|ISPREF|RXAUI|SAUI|SCUI|SDUI|SAB|TTY|CODE|STR|SRL|SUPPRESS|CVF
    "4603|ENG||||||1001||||RXNORM|IN|4603|furosemide||N|4096|",
    "202991|ENG||||||1002||||RXNORM|BN|202991|Lasix||N|4096|",
    "310429|ENG||||||1003||||RXNORM|SCD|310429|furosemide 20 MG Oral Tablet||N|4096|",
    "29046|ENG||||||1004||||RXNORM|IN|29046|lisinopril||N|4096|",
    "99999|ENG||||||1005||||MTHSPL|SU|99999|metformin||N|4096|",  # other source: ignored
    "88888|ENG||||||1006||||RXNORM|SY|88888|lisinopril tabs||N|4096|",  # TTY not kept
    "77777|ENG||||||1007||||RXNORM|IN|77777|obsoletamine||O|4096|",  # suppressed
]


def write_rrf(path):
    path.write_text("\n".join(RRF_ROWS) + "\n", "utf-8")
    return path


def test_rxnorm_loader_on_tiny_rrf(tmp_path):
    from extractors.codes import RxNormIndex

    idx = RxNormIndex.load(write_rrf(tmp_path / "RXNCONSO.RRF"))
    assert idx.rows == 4
    assert idx.lookup("Furosemide") == "4603" and idx.lookup("LASIX") == "202991"
    assert idx.lookup("furosemide 20 mg oral tablet") == "310429"
    assert idx.lookup("metformin") is None and idx.lookup("lisinopril tabs") is None
    assert idx.lookup("obsoletamine") is None
    assert idx.lookup("unknown", "lisinopril") == "29046"


def test_extractor_adds_rxnorm_codes_from_env(cx, tmp_path, monkeypatch):  # cx: tables already loaded
    from extractors import ClinicalExtractor

    monkeypatch.setenv("CLINQA_RXNORM", str(write_rrf(tmp_path / "RXNCONSO.RRF")))
    x = ClinicalExtractor({"assertion": False})
    x.warm_up()
    facts = x.run(make_note("Lasix 40 mg daily and lisinopril 10 mg daily."))
    furo, lis = one(facts, "DRUG", "furosemide"), one(facts, "DRUG", "lisinopril")
    assert furo.codes["RXNORM"] == "4603"  # the generic's RXCUI for the brand mention
    assert lis.codes["RXNORM"] == "29046"
    assert "code:rxnorm" in furo.provenance


def test_no_rxnorm_without_file(cx):
    facts = cx.run(make_note("Lasix 40 mg daily."))
    assert "RXNORM" not in one(facts, "DRUG", "furosemide").codes


def test_unii_and_icd_tables(cx):
    from extractors.codes import icd10_lookup, unii_index

    assert unii_index()["FUROSEMIDE"][0] == "7LXU5N7ZO5"
    assert icd10_lookup("Essential (primary) hypertension") == "I10"
    assert icd10_lookup("Type 2 diabetes mellitus without complications") == "E11.9"
    assert icd10_lookup("acidosis, lactic") is not None  # MeSH inverted order
