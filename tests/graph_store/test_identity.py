"""Wrong-patient documents: a note naming another patient (name or birth date) is left off the timeline."""
from __future__ import annotations

import datetime as dt

from clinqa.records import Note
from graph_store.resolution import PatientIdentity


def _note(text: str, key: str = "n") -> Note:
    return Note("p", key, text, note_date=dt.date(2020, 1, 1), note_id=f"p/{key}")


def test_identity_checks():
    pi = PatientIdentity("Omar Miller", "1955-02-16")
    assert not pi.check(_note("Patient: Omar Miller, DOB Feb 16, 1955")).foreign
    assert not pi.check(_note("we report on Mr. Omar Miller, born 16 February 1955")).foreign
    assert pi.check(_note("Pt: Rosa Petrov | DOB 02/24/1955")).foreign
    assert pi.check(_note("Mrs. Rosa Petrov, born 24 February 1955")).foreign
    assert pi.check(_note("Patient: Anna Berger\nLabs today")).foreign
    assert not pi.check(_note("Patient: alert and oriented, no distress")).foreign  # not a name
    assert not pi.check(_note("No identity stated in this note.")).foreign
    assert not pi.check(_note("Omar Miller, DOB 16.02.1955")).foreign
    assert pi.check(_note("Pt: Omar Schneider | DOB 02/03/1964")).foreign  # same first name, someone else
    assert pi.check(_note("Patient: Omar Miller, DOB 10/27/1946")).foreign  # namesake with another birth date
    assert not PatientIdentity("Anna Maria Berger", None).check(_note("Patient: Anna Berger")).foreign


def test_identity_formats_that_must_not_misfire():
    pi = PatientIdentity("José Müller", "02/05/1955")  # the chart's own convention may be either
    assert not pi.check(_note("Mr. José Müller, born 2 May 1955")).foreign
    assert not pi.check(_note("Mr. JOSE MULLER seen, DOB 05/02/1955")).foreign  # all caps, no accents
    assert not pi.check(_note("Patient: Müller, José | DOB 1955-02-05")).foreign  # last, first: one word, not checked
    assert not pi.check(_note("PATIENT: DISCHARGE SUMMARY\nDOB 02/05/1955")).foreign  # all-caps header is no name
    assert not pi.check(_note("Mr. Müller was seen today")).foreign  # stops at the lower-case word
    assert pi.check(_note("Mr. Jürgen Schäfer, born 2 June 1948")).foreign  # another name and birth date
    assert pi.check(_note("DOB 03/07/1955")).foreign  # neither reading of the date is the registered one
    ambiguous = PatientIdentity("Omar Miller", "1955-02-05")
    assert not ambiguous.check(_note("Patient: Omar Miller, DOB 05/02/1955")).foreign  # European day first
    assert not ambiguous.check(_note("Patient: Omar Miller, DOB 02/05/1955")).foreign  # US month first
    assert ambiguous.check(_note("Patient: Omar Miller, DOB 02/06/1955")).foreign


def test_no_registered_identity_keeps_everything():
    assert PatientIdentity(None, None).foreign_notes([_note("Patient: Anna Berger")]) == {}


def test_graph_leaves_out_foreign_facts():
    from clinqa.records import Assertion, DateKind, Fact, FactType
    from graph_store.graph import PatientGraphs

    own = _note("Patient: Omar Miller\nColonoscopy on 2020-01-01.", "a")
    other = _note("Patient: Rosa Petrov\nMastectomy on 2020-01-02.", "b")
    facts = []
    for n, surface, name in ((own, "Colonoscopy", "colonoscopy"), (other, "Mastectomy", "mastectomy")):
        s = n.text.index(surface)
        facts.append(Fact("p", n.note_id, s, s + len(surface), surface, FactType.PROCEDURE, name,
                          assertion=Assertion.PRESENT, date=dt.date(2020, 1, 1), date_kind=DateKind.OCCURRED))
    g = PatientGraphs.__new__(PatientGraphs)
    from graph_store.resolution import ConceptResolver, CopyForwardDetector, DrugNames

    g.drug_names = DrugNames()
    g.resolver = ConceptResolver(g.drug_names)
    g.copy_forward = CopyForwardDetector()
    from clinqa.errors import ClinqaError

    class _NoStore:
        def patient(self, pid):
            raise ClinqaError(pid)

    g.store = _NoStore()
    m = g.build_from("p", [own, other], facts, identity=PatientIdentity("Omar Miller", None))
    assert set(m.foreign) == {"p/b"}
    assert {e.name for e in m.events} == {"colonoscopy"}
    assert m.stats["foreign_notes"] == 1
