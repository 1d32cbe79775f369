"""Synthetic LongHealth-style benchmark with ground truth.

For each patient a ground-truth timeline is drawn first (``random.Random`` per patient, so the
set is deterministic by seed): main diagnosis and comorbidities, medications with start/stop
dates and dose changes, an adverse event with its onset relative to a drug start (the drug then
stopped or switched), lab series over several dates, procedures, imaging, family history,
findings that were ruled out and findings left uncertain.

The timeline is then rendered into 5-15 documents in varied real-world styles (H&P, discharge
letters, progress notes with copy-forward, radiology / pathology reports, lab tables, medication
lists) with abbreviations, several date formats, relative dates, negations and occasional typos.
While rendering, every sentence that states a fact is recorded with its exact character offsets,
so each question's ``answer_spans`` point at the evidence (``texts[key][start:end]`` is the
evidence sentence) and ``answer_location`` holds the same spans as LongHealth-style fractions.

Questions (about 8-12 per patient, five options, the correct one at a random letter) come from
the ground truth, never from the text: kinds ``extraction``, ``negation``, ``temporal``,
``numeric`` and ``multi_document``. Distractors are taken from the record in another role
(a ruled-out finding, a family member's diagnosis, a value from another date, a drug stopped
earlier) or are plausible drugs never given.

API: ``generate(n_patients, seed=0) -> dict`` (LongHealth JSON plus ``text_dates``,
``text_types``, ``ground_truth`` per patient and ``answer_spans`` per question).
CLI: ``python -m evals.synth --patients N --seed S --out FILE``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import sys
from pathlib import Path
from typing import Any

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
LETTERS = "abcde"
KINDS = ("extraction", "negation", "temporal", "numeric", "multi_document")
NUM_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]

MIN_WORDS, MAX_WORDS = 3000, 7000
MIN_NOTES, MAX_NOTES = 5, 15


# -- dates -------------------------------------------------------------------------------------------------
def fmt_date(d: dt.date, style: int) -> str:
    """0: 2021-03-05, 1: 03/05/2021, 2: 5 March 2021, 3: Mar 5, 2021."""
    if style == 0:
        return d.isoformat()
    if style == 1:
        return f"{d.month:02d}/{d.day:02d}/{d.year}"
    if style == 2:
        return f"{d.day} {MONTHS[d.month - 1]} {d.year}"
    return f"{MONTHS[d.month - 1][:3]} {d.day}, {d.year}"


def qdate(d: dt.date) -> str:
    """The date as questions write it."""
    return f"{MONTHS[d.month - 1]} {d.day}, {d.year}"


# -- vocabulary ----------------------------------------------------------------------------------------------
FIRST_F = ["Anna", "Maria", "Helen", "Sarah", "Laura", "Julia", "Claire", "Emily", "Ruth", "Nora", "Grace", "Irene",
           "Margaret", "Sofia", "Eva", "Linda", "Carmen", "Hannah", "Rosa", "Alice", "Martha", "Ingrid", "Paula", "Diana"]
FIRST_M = ["Thomas", "Peter", "Michael", "David", "John", "Robert", "Frank", "Paul", "George", "Martin", "Henry",
           "Daniel", "Walter", "Stefan", "Luis", "Omar", "Victor", "Samuel", "Karl", "Arthur", "Edward", "Simon", "Hugo"]
LAST = ["Berger", "Miller", "Hoffmann", "Schneider", "Novak", "Fischer", "Walsh", "Keller", "Brennan", "Lindqvist",
        "Moreau", "Rossi", "Kowalski", "Jansen", "Becker", "Adler", "Horvath", "Sorensen", "Weber", "Castillo", "Dunn",
        "Richter", "Olsen", "Marino", "Fletcher", "Bauer", "Haas", "Lorenz", "Quinn", "Varga", "Sommer", "Petrov"]

# pre-existing conditions with their long-standing medication
COMORBIDITIES = [
    {"name": "arterial hypertension", "abbr": "HTN", "med": ("amlodipine", "5 mg", "once daily")},
    {"name": "type 2 diabetes mellitus", "abbr": "DM2", "med": ("metformin", "500 mg", "twice daily")},
    {"name": "hypercholesterolemia", "abbr": "HLD", "med": ("simvastatin", "20 mg", "once daily at night")},
    {"name": "hypothyroidism", "abbr": "hypothyroidism", "med": ("levothyroxine", "75 mcg", "once daily")},
    {"name": "gastroesophageal reflux disease", "abbr": "GERD", "med": ("omeprazole", "20 mg", "once daily")},
    {"name": "osteoarthritis of both knees", "abbr": "OA knees", "med": ("paracetamol", "500 mg", "up to three times daily as needed")},
    {"name": "depression", "abbr": "depression", "med": ("sertraline", "50 mg", "once daily")},
    {"name": "benign prostatic hyperplasia", "abbr": "BPH", "med": ("tamsulosin", "0.4 mg", "once daily"), "sex": "m"},
    {"name": "obstructive sleep apnea", "abbr": "OSA on CPAP", "med": None},
    {"name": "osteoporosis", "abbr": "osteoporosis", "med": ("alendronate", "70 mg", "once weekly"), "sex": "f"},
    {"name": "glaucoma", "abbr": "glaucoma", "med": ("latanoprost", "0.005% one drop", "in both eyes at night")},
]

FAMILY = [
    ("mother", "breast cancer"), ("father", "myocardial infarction"), ("brother", "type 1 diabetes mellitus"),
    ("sister", "colon cancer"), ("father", "prostate cancer"), ("mother", "Alzheimer's disease"),
    ("father", "ischemic stroke"), ("mother", "rheumatoid arthritis"), ("brother", "multiple sclerosis"),
    ("sister", "systemic lupus erythematosus"), ("mother", "ovarian cancer"), ("father", "abdominal aortic aneurysm"),
    ("mother", "Parkinson's disease"), ("father", "chronic lymphocytic leukemia"), ("sister", "celiac disease"),
]

SYMPTOMS_DENIABLE = ["chest pain", "hemoptysis", "dysuria", "abdominal pain", "headache", "visual disturbances",
                     "melena", "syncope", "palpitations", "diarrhea", "joint swelling", "skin rash", "night sweats",
                     "cough", "leg swelling", "dysphagia", "fever"]

# generic adverse-event candidates usable in any scenario (drug started during the course)
GENERIC_AE = [
    {"drug": "lisinopril", "dose": "10 mg", "freq": "once daily", "indication": "blood pressure control",
     "ae": "a persistent dry cough", "ae_short": "dry cough", "action": "switched", "repl": ("losartan", "50 mg", "once daily"),
     "why": "ACE-inhibitor-induced cough"},
    {"drug": "ciprofloxacin", "dose": "500 mg", "freq": "twice daily", "indication": "a urinary tract infection",
     "ae": "pain and swelling of the right Achilles tendon", "ae_short": "Achilles tendinopathy", "action": "switched",
     "repl": ("nitrofurantoin", "100 mg", "twice daily"), "why": "fluoroquinolone-associated tendinopathy"},
    {"drug": "metoclopramide", "dose": "10 mg", "freq": "three times daily", "indication": "nausea",
     "ae": "restlessness with an inability to sit still", "ae_short": "akathisia", "action": "switched",
     "repl": ("domperidone", "10 mg", "three times daily"), "why": "metoclopramide-induced akathisia"},
]

SCENARIOS: list[dict[str, Any]] = [
    {
        "key": "lymphoma", "diagnosis": "diffuse large B-cell lymphoma", "short": "DLBCL", "ward": "Hematology and Oncology",
        "stage": ["stage IIA", "stage IIIB", "stage IVB"], "dx_detail": "IPI score {ipi}",
        "presenting": ["painless swelling of the cervical lymph nodes", "drenching night sweats", "a weight loss of {n} kg",
                       "intermittent fevers up to 38.6 C", "progressive fatigue"],
        "cc": "enlarged neck lymph nodes and B symptoms",
        "procedure": {"name": "excisional biopsy of a left cervical lymph node", "short": "lymph node biopsy", "day": 2,
                      "pathology": "Histology shows diffuse large B-cell lymphoma, germinal center B-cell type, with a Ki-67 proliferation index of {ki} %.",
                      "path_specimen": "Left cervical lymph node, excisional biopsy"},
        "procedure2": {"name": "bone marrow aspiration and trephine biopsy", "short": "bone marrow biopsy", "day": 3},
        "imaging": [
            {"modality": "CT of the neck, chest, abdomen and pelvis", "short": "staging CT", "day": 1,
             "finding": "enlarged cervical, mediastinal and retroperitoneal lymph nodes, the largest measuring {size} cm in the anterior mediastinum",
             "finding_short": "a mediastinal lymph node mass of {size} cm"},
            {"modality": "transthoracic echocardiography", "short": "echocardiography", "day": 3,
             "finding": "normal left ventricular systolic function with an LVEF of {ef} % before anthracycline therapy",
             "finding_short": "an LVEF of {ef} %"},
        ],
        "followup_imaging": {"modality": "PET-CT", "short": "interim PET-CT",
                             "finding": "a complete metabolic response (Deauville score 2) with regression of the mediastinal mass to {size2} cm",
                             "finding_short": "regression of the mediastinal mass to {size2} cm"},
        "regimen": {"name": "R-CHOP", "desc": "rituximab 375 mg/m2, cyclophosphamide 750 mg/m2, doxorubicin 50 mg/m2, vincristine 1.4 mg/m2 (max. 2 mg) and prednisone 100 mg on days 1-5",
                    "drugs": ["rituximab", "cyclophosphamide", "doxorubicin", "vincristine", "prednisone"], "interval": 21, "cycles": [4, 5, 6]},
        "inpatient_meds": [("aciclovir", "400 mg", "twice daily", "antiviral prophylaxis"),
                           ("pantoprazole", "40 mg", "once daily", "gastric protection during steroid therapy")],
        "titrated": {"drug": "pregabalin", "dose": "75 mg", "new": "150 mg", "freq": "twice daily",
                     "indication": "neuropathic pain in both feet", "verb": "increased", "reason": "persistent burning pain in both feet"},
        "ae": [{"drug": "allopurinol", "dose": "300 mg", "freq": "once daily", "indication": "prophylaxis of tumor lysis syndrome",
                "ae": "a pruritic maculopapular rash on the trunk", "ae_short": "maculopapular rash", "action": "stopped",
                "why": "suspected allopurinol hypersensitivity"},
               {"drug": "cotrimoxazole", "dose": "960 mg", "freq": "three times weekly", "indication": "Pneumocystis prophylaxis",
                "ae": "a generalized urticarial rash", "ae_short": "urticarial rash", "action": "switched",
                "repl": ("atovaquone", "1500 mg", "once daily"), "why": "sulfonamide allergy"}],
        "labs": [("hemoglobin", "Hb", "g/dL", 1, (12.0, 16.0), 11.4, "down"), ("LDH", "LDH", "U/L", 0, (135, 250), 612, "down"),
                 ("leukocytes", "WBC", "/nL", 1, (4.0, 10.0), 7.8, "down"), ("platelets", "Plt", "/nL", 0, (150, 400), 310, "down")],
        "never": ["bendamustine", "ibrutinib", "lenalidomide", "brentuximab vedotin", "methotrexate"],
        "negated": [("bone marrow infiltration", "The bone marrow biopsy showed no evidence of lymphoma infiltration.", "course"),
                    ("CNS involvement", "MRI of the brain showed no CNS involvement.", "course"),
                    ("hepatitis B infection", "Hepatitis B serology was negative, so hepatitis B infection was ruled out before rituximab.", "course"),
                    ("pleural effusion", "There is no pleural effusion.", "rad")],
        "uncertain": ("splenic involvement", "The spleen measures 13 cm; splenic involvement cannot be excluded.", "rad"),
    },
    {
        "key": "breast", "diagnosis": "invasive ductal carcinoma of the left breast", "short": "breast cancer", "ward": "Gynecologic Oncology", "neg_img": 1,
        "stage": ["cT2 cN1 M0", "cT2 cN0 M0", "cT1c cN1 M0"], "dx_detail": "ER positive, PR positive, HER2 negative, Ki-67 {ki} %",
        "presenting": ["a palpable lump in the upper outer quadrant of the left breast", "mild tenderness of the left breast",
                       "a slight retraction of the left nipple", "fatigue for several weeks"],
        "cc": "a palpable lump in the left breast", "sex": "f",
        "procedure": {"name": "ultrasound-guided core needle biopsy of the left breast", "short": "core needle biopsy", "day": 1,
                      "pathology": "Histology shows invasive ductal carcinoma, grade 2, estrogen receptor positive (90 %), progesterone receptor positive, HER2 negative, Ki-67 {ki} %.",
                      "path_specimen": "Left breast, 2 o'clock, core needle biopsy (3 cores)"},
        "procedure2": {"name": "implantation of a central venous port system", "short": "port implantation", "day": 5},
        "imaging": [
            {"modality": "mammography and breast ultrasound", "short": "mammography", "day": 0,
             "finding": "an irregular spiculated mass of {size} cm in the upper outer quadrant of the left breast (BI-RADS 5)",
             "finding_short": "a spiculated mass of {size} cm (BI-RADS 5)"},
            {"modality": "CT of the chest and abdomen", "short": "staging CT", "day": 3,
             "finding": "an enlarged left axillary lymph node of 1.8 cm without signs of distant metastases",
             "finding_short": "an enlarged left axillary lymph node"},
            {"modality": "bone scintigraphy", "short": "bone scan", "day": 4,
             "finding": "no scintigraphic evidence of osseous metastases", "finding_short": "no osseous metastases"},
        ],
        "followup_imaging": {"modality": "breast MRI", "short": "follow-up MRI",
                             "finding": "a partial response with regression of the tumor to {size2} cm",
                             "finding_short": "regression of the tumor to {size2} cm"},
        "regimen": {"name": "EC (epirubicin/cyclophosphamide)", "desc": "epirubicin 90 mg/m2 and cyclophosphamide 600 mg/m2 every 2 weeks with pegfilgrastim support",
                    "drugs": ["epirubicin", "cyclophosphamide", "pegfilgrastim"], "interval": 14, "cycles": [4]},
        "inpatient_meds": [("dexamethasone", "8 mg", "on days 1-3 of each cycle", "antiemetic prophylaxis"),
                           ("ondansetron", "8 mg", "twice daily on days 1-3", "chemotherapy-induced nausea")],
        "titrated": {"drug": "venlafaxine", "dose": "37.5 mg", "new": "75 mg", "freq": "once daily",
                     "indication": "hot flashes", "verb": "increased", "reason": "ongoing hot flashes"},
        "ae": [{"drug": "letrozole", "dose": "2.5 mg", "freq": "once daily", "indication": "endocrine therapy of the hormone receptor-positive tumor",
                "ae": "pain and stiffness in the small joints of both hands", "ae_short": "arthralgia", "action": "switched",
                "repl": ("tamoxifen", "20 mg", "once daily"), "why": "aromatase-inhibitor-associated arthralgia"}],
        "labs": [("hemoglobin", "Hb", "g/dL", 1, (12.0, 16.0), 12.8, "down"), ("leukocytes", "WBC", "/nL", 1, (4.0, 10.0), 6.9, "down"),
                 ("ALT", "ALT", "U/L", 0, (0, 35), 24, "up"), ("CA 15-3", "CA 15-3", "U/mL", 0, (0, 30), 58, "down")],
        "never": ["trastuzumab", "capecitabine", "olaparib", "palbociclib", "docetaxel"],
        "negated": [("liver metastases", "There is no evidence of liver metastases.", "rad"),
                    ("pulmonary metastases", "No pulmonary nodules suspicious for metastases were found.", "rad"),
                    ("BRCA1/2 mutation", "Germline testing ruled out a BRCA1/2 mutation.", "course"),
                    ("contralateral breast cancer", "The right breast showed no suspicious lesion, ruling out contralateral breast cancer.", "course")],
        "uncertain": ("a second lesion in the left breast", "A 5 mm focus at 4 o'clock in the left breast is indeterminate; a second lesion cannot be excluded.", "rad"),
    },
    {
        "key": "heart_failure", "diagnosis": "heart failure with reduced ejection fraction", "short": "HFrEF", "ward": "Cardiology", "neg_img": 1, "unc_img": 1,
        "stage": ["NYHA class III", "NYHA class II-III", "NYHA class IV"], "dx_detail": "ischemic cardiomyopathy",
        "presenting": ["progressive shortness of breath on exertion", "orthopnea requiring three pillows",
                       "bilateral ankle swelling", "a weight gain of {n} kg over two weeks"],
        "cc": "worsening shortness of breath and leg swelling",
        "procedure": {"name": "coronary angiography", "short": "coronary angiography", "day": 3,
                      "result": "Coronary angiography showed three-vessel coronary artery disease with a chronic occlusion of the right coronary artery."},
        "procedure2": {"name": "implantation of a single-chamber ICD", "short": "ICD implantation", "day": 6},
        "imaging": [
            {"modality": "chest X-ray", "short": "chest X-ray", "day": 0,
             "finding": "pulmonary venous congestion with bilateral small pleural effusions", "finding_short": "pulmonary venous congestion"},
            {"modality": "transthoracic echocardiography", "short": "echocardiography", "day": 1,
             "finding": "a dilated left ventricle with severely reduced systolic function and an LVEF of {ef} %",
             "finding_short": "an LVEF of {ef} %"},
        ],
        "followup_imaging": {"modality": "follow-up echocardiography", "short": "follow-up echocardiography",
                             "finding": "an improved LVEF of {ef2} %", "finding_short": "an improved LVEF of {ef2} %", "compare": 1},
        "inpatient_meds": [("furosemide", "40 mg", "IV twice daily", "decongestion"),
                           ("empagliflozin", "10 mg", "once daily", "heart failure therapy"),
                           ("sacubitril/valsartan", "24/26 mg", "twice daily", "neurohormonal blockade")],
        "titrated": {"drug": "bisoprolol", "dose": "1.25 mg", "new": "2.5 mg", "freq": "once daily",
                     "indication": "heart rate control in heart failure", "verb": "increased", "reason": "a resting heart rate of 88/min"},
        "ae": [{"drug": "spironolactone", "dose": "25 mg", "freq": "once daily", "indication": "mineralocorticoid receptor blockade",
                "ae": "painful swelling of both breasts", "ae_short": "painful gynecomastia", "action": "switched", "sex": "m",
                "repl": ("eplerenone", "25 mg", "once daily"), "why": "spironolactone-induced gynecomastia"},
               {"drug": "ivabradine", "dose": "5 mg", "freq": "twice daily", "indication": "heart rate reduction",
                "ae": "flashes of light in the visual field", "ae_short": "luminous phenomena (phosphenes)", "action": "stopped",
                "why": "ivabradine-associated phosphenes"}],
        "exclude_generic": ["lisinopril"],
        "labs": [("NT-proBNP", "NT-proBNP", "pg/mL", 0, (0, 125), 6840, "down"), ("creatinine", "Cr", "mg/dL", 2, (0.6, 1.2), 1.48, "up"),
                 ("potassium", "K", "mmol/L", 1, (3.5, 5.1), 4.6, "up"), ("sodium", "Na", "mmol/L", 0, (135, 145), 131, "up")],
        "never": ["digoxin", "ranolazine", "amiodarone", "hydrochlorothiazide", "vericiguat"],
        "negated": [("pericardial effusion", "There is no pericardial effusion.", "rad"),
                    ("pulmonary embolism", "CT pulmonary angiography ruled out pulmonary embolism.", "course"),
                    ("acute myocardial infarction", "Serial troponins were flat, and an acute myocardial infarction was ruled out.", "course"),
                    ("left ventricular thrombus", "No left ventricular thrombus was seen.", "rad")],
        "uncertain": ("cardiac amyloidosis", "Given the wall thickness, cardiac amyloidosis cannot be excluded and a scintigraphy is suggested.", "rad"),
    },
    {
        "key": "asthma_copd", "diagnosis": "asthma-COPD overlap with an acute exacerbation", "short": "asthma/COPD", "ward": "Pulmonology",
        "stage": ["GOLD 2", "GOLD 3"], "dx_detail": "{pack} pack-years",
        "presenting": ["worsening shortness of breath", "wheezing at night", "a productive cough with yellow sputum",
                       "chest tightness"],
        "cc": "SOB and wheezing",
        "procedure": {"name": "flexible bronchoscopy with bronchoalveolar lavage", "short": "bronchoscopy", "day": 2,
                      "result": "Bronchoscopy showed diffuse mucosal inflammation without endobronchial tumor; the lavage grew Haemophilus influenzae."},
        "procedure2": {"name": "pulmonary function testing", "short": "pulmonary function test", "day": 5},
        "imaging": [
            {"modality": "chest X-ray", "short": "chest X-ray", "day": 0,
             "finding": "hyperinflated lungs with flattened diaphragms", "finding_short": "hyperinflated lungs"},
            {"modality": "CT of the chest", "short": "chest CT", "day": 2,
             "finding": "centrilobular emphysema predominantly in the upper lobes and bronchial wall thickening",
             "finding_short": "centrilobular emphysema"},
        ],
        "followup_imaging": {"modality": "follow-up chest X-ray", "short": "follow-up chest X-ray",
                             "finding": "resolution of the peribronchial thickening in the lower lobes",
                             "finding_short": "resolution of the peribronchial thickening"},
        "inpatient_meds": [("prednisolone", "40 mg", "once daily for 5 days", "the acute exacerbation"),
                           ("amoxicillin/clavulanate", "875/125 mg", "twice daily for 7 days", "the bacterial bronchitis"),
                           ("tiotropium", "18 mcg", "inhaled once daily", "long-acting bronchodilation")],
        "titrated": {"drug": "budesonide/formoterol", "dose": "160/4.5 mcg one inhalation", "new": "160/4.5 mcg two inhalations",
                     "freq": "twice daily", "indication": "maintenance inhaler therapy", "verb": "increased", "reason": "persistent nocturnal symptoms"},
        "ae": [{"drug": "montelukast", "dose": "10 mg", "freq": "once nightly", "indication": "add-on asthma control",
                "ae": "insomnia with vivid dreams", "ae_short": "insomnia", "action": "stopped",
                "why": "suspected neuropsychiatric side effects of montelukast"},
               {"drug": "roflumilast", "dose": "500 mcg", "freq": "once daily", "indication": "prevention of exacerbations",
                "ae": "watery diarrhea and loss of appetite", "ae_short": "diarrhea", "action": "stopped",
                "why": "gastrointestinal intolerance of roflumilast"}],
        "labs": [("eosinophils", "Eos", "/uL", 0, (0, 500), 640, "down"), ("CRP", "CRP", "mg/L", 0, (0, 5), 86, "down"),
                 ("pCO2", "pCO2", "mmHg", 0, (35, 45), 52, "down"), ("leukocytes", "WBC", "/nL", 1, (4.0, 10.0), 13.6, "down")],
        "never": ["omalizumab", "azithromycin", "theophylline", "mepolizumab", "ipratropium"],
        "negated": [("pneumonia", "There is no infiltrate, so pneumonia was ruled out.", "rad"),
                    ("pneumothorax", "No pneumothorax.", "rad"),
                    ("pulmonary embolism", "CT angiography excluded pulmonary embolism.", "course"),
                    ("lung cancer", "There was no endobronchial tumor, and lung cancer was ruled out.", "course")],
        "uncertain": ("early bronchiectasis", "Mild dilatation of the lower lobe bronchi, possibly early bronchiectasis.", "rad"),
    },
    {
        "key": "dm_ckd", "diagnosis": "diabetic kidney disease (CKD stage G3b A3)", "short": "DM2 with CKD", "ward": "Nephrology",
        "stage": ["CKD G3b A3", "CKD G3a A3", "CKD G4 A3"], "dx_detail": "type 2 diabetes for {years} years",
        "presenting": ["poorly controlled blood sugars", "foamy urine", "swelling of both lower legs", "increasing fatigue"],
        "cc": "rising creatinine and edema", "no_comorb": ["type 2 diabetes mellitus"],
        "procedure": {"name": "ultrasound-guided percutaneous kidney biopsy", "short": "kidney biopsy", "day": 3,
                      "pathology": "Histology shows nodular diabetic glomerulosclerosis (Kimmelstiel-Wilson lesions) with moderate interstitial fibrosis.",
                      "path_specimen": "Right kidney, percutaneous core biopsy (2 cores)"},
        "procedure2": {"name": "dilated fundoscopy", "short": "fundoscopy", "day": 4},
        "imaging": [
            {"modality": "renal ultrasound", "short": "renal ultrasound", "day": 1,
             "finding": "normal-sized kidneys ({size} cm on the right) with increased cortical echogenicity",
             "finding_short": "increased cortical echogenicity"},
            {"modality": "chest X-ray", "short": "chest X-ray", "day": 1,
             "finding": "mild interstitial edema", "finding_short": "mild interstitial edema"},
        ],
        "followup_imaging": {"modality": "follow-up renal ultrasound", "short": "follow-up ultrasound",
                             "finding": "unchanged kidney size without new findings", "finding_short": "unchanged kidney size"},
        "inpatient_meds": [("insulin aspart", "4 units", "with meals", "prandial glucose control"),
                           ("torasemide", "10 mg", "once daily", "edema")],
        "titrated": {"drug": "insulin glargine", "dose": "10 units", "new": "16 units", "freq": "at bedtime",
                     "indication": "basal glucose control", "verb": "increased", "reason": "fasting glucose values above 180 mg/dL"},
        "ae": [{"drug": "empagliflozin", "dose": "10 mg", "freq": "once daily", "indication": "renal and cardiovascular protection",
                "ae": "genital itching and a vulvovaginal candidiasis", "ae_short": "genital mycotic infection", "action": "stopped", "sex": "f",
                "why": "recurrent genital mycotic infection"},
               {"drug": "liraglutide", "dose": "0.6 mg", "freq": "subcutaneously once daily", "indication": "weight and glucose control",
                "ae": "persistent nausea with vomiting", "ae_short": "nausea and vomiting", "action": "switched",
                "repl": ("sitagliptin", "50 mg", "once daily"), "why": "GLP-1 receptor agonist intolerance"}],
        "labs": [("HbA1c", "HbA1c", "%", 1, (4.0, 5.6), 9.4, "down"), ("eGFR", "eGFR", "mL/min/1.73m2", 0, (60, 120), 38, "down"),
                 ("creatinine", "Cr", "mg/dL", 2, (0.6, 1.1), 1.74, "up"), ("potassium", "K", "mmol/L", 1, (3.5, 5.1), 4.9, "up"),
                 ("urine albumin-to-creatinine ratio", "UACR", "mg/g", 0, (0, 30), 940, "down")],
        "never": ["glipizide", "pioglitazone", "finerenone", "dapagliflozin", "semaglutide"],
        "negated": [("hydronephrosis", "There is no hydronephrosis.", "rad"),
                    ("renal artery stenosis", "Duplex sonography ruled out renal artery stenosis.", "course"),
                    ("glomerulonephritis", "Serology (ANA, ANCA, anti-GBM) was negative and a glomerulonephritis was ruled out.", "course"),
                    ("proliferative diabetic retinopathy", "Fundoscopy showed moderate non-proliferative changes without proliferative diabetic retinopathy.", "course")],
        "uncertain": ("a small renal cyst", "A 9 mm hypoechoic lesion in the left kidney is probably a simple cyst.", "rad"),
    },
    {
        "key": "stroke", "diagnosis": "acute ischemic stroke in the left middle cerebral artery territory", "short": "left MCA stroke", "ward": "Neurology (Stroke Unit)",
        "stage": ["NIHSS 9", "NIHSS 12", "NIHSS 6"], "dx_detail": "cardioembolic etiology",
        "presenting": ["sudden weakness of the right arm and leg", "slurred speech", "a right facial droop",
                       "word-finding difficulties"],
        "cc": "acute right-sided weakness and aphasia",
        "procedure": {"name": "mechanical thrombectomy of the left M1 segment", "short": "mechanical thrombectomy", "day": 0,
                      "result": "Mechanical thrombectomy achieved reperfusion of the left MCA (TICI 2b) after two passes."},
        "procedure2": {"name": "transesophageal echocardiography", "short": "TEE", "day": 3},
        "imaging": [
            {"modality": "non-contrast CT and CT angiography of the head", "short": "CT angiography", "day": 0,
             "finding": "an occlusion of the left middle cerebral artery M1 segment", "finding_short": "an M1 occlusion on the left"},
            {"modality": "MRI of the brain", "short": "brain MRI", "day": 2,
             "finding": "an acute infarct of the left basal ganglia and insular cortex measuring {size} cm",
             "finding_short": "an acute left basal ganglia infarct"},
        ],
        "followup_imaging": {"modality": "follow-up MRI of the brain", "short": "follow-up MRI",
                             "finding": "a chronic left striatocapsular defect without new ischemic lesions",
                             "finding_short": "no new ischemic lesions", "compare": 1},
        "inpatient_meds": [("alteplase", "0.9 mg/kg", "IV (10 % bolus, remainder over 60 minutes)", "thrombolysis"),
                           ("apixaban", "5 mg", "twice daily", "secondary prevention in atrial fibrillation")],
        "titrated": {"drug": "metoprolol succinate", "dose": "47.5 mg", "new": "95 mg", "freq": "once daily",
                     "indication": "rate control of atrial fibrillation", "verb": "increased", "reason": "heart rates of 110/min on Holter"},
        "ae": [{"drug": "atorvastatin", "dose": "80 mg", "freq": "once daily", "indication": "secondary stroke prevention",
                "ae": "diffuse muscle aches in both thighs", "ae_short": "myalgia", "action": "switched",
                "repl": ("rosuvastatin", "10 mg", "once daily"), "why": "statin-associated muscle symptoms"},
               {"drug": "levetiracetam", "dose": "500 mg", "freq": "twice daily", "indication": "a single post-stroke seizure",
                "ae": "irritability and depressed mood", "ae_short": "irritability", "action": "switched",
                "repl": ("lamotrigine", "25 mg", "once daily"), "why": "levetiracetam-related behavioral side effects"}],
        "labs": [("LDL cholesterol", "LDL-C", "mg/dL", 0, (0, 100), 162, "down"), ("glucose", "Glc", "mg/dL", 0, (70, 110), 148, "down"),
                 ("hemoglobin", "Hb", "g/dL", 1, (13.5, 17.5), 14.1, "down"), ("CK", "CK", "U/L", 0, (0, 190), 120, "up")],
        "never": ["clopidogrel", "warfarin", "tenecteplase", "dabigatran", "ticagrelor"],
        "negated": [("intracranial hemorrhage", "There is no intracranial hemorrhage.", "rad"),
                    ("carotid stenosis", "Carotid duplex ultrasound ruled out a relevant carotid stenosis.", "course"),
                    ("left atrial appendage thrombus", "TEE showed no left atrial appendage thrombus.", "course"),
                    ("patent foramen ovale", "A patent foramen ovale was ruled out on bubble study.", "course")],
        "uncertain": ("a small old lacunar infarct", "A small hypodensity in the right thalamus may represent an old lacunar infarct.", "rad"),
    },
    {
        "key": "colorectal", "diagnosis": "adenocarcinoma of the sigmoid colon", "short": "sigmoid cancer", "ward": "General Surgery and Oncology", "adjuvant": True,
        "stage": ["pT3 pN1a M0 (stage IIIB)", "pT3 pN1b M0 (stage IIIB)", "pT2 pN1a M0 (stage IIIA)"], "dx_detail": "RAS wild-type, microsatellite stable",
        "presenting": ["rectal bleeding", "a change in bowel habits", "crampy lower abdominal pain", "iron deficiency anemia"],
        "cc": "blood in the stool and altered bowel habits",
        "procedure": {"name": "colonoscopy with biopsy of a sigmoid tumor", "short": "colonoscopy", "day": 1,
                      "pathology": "Histology shows a moderately differentiated adenocarcinoma (G2) of the colon.",
                      "path_specimen": "Sigmoid colon at 30 cm, endoscopic biopsies"},
        "procedure2": {"name": "laparoscopic sigmoid resection", "short": "sigmoid resection", "day": 6},
        "imaging": [
            {"modality": "CT of the chest, abdomen and pelvis", "short": "staging CT", "day": 2,
             "finding": "circumferential wall thickening of the sigmoid colon over {size} cm with two enlarged pericolic lymph nodes",
             "finding_short": "sigmoid wall thickening over {size} cm"},
            {"modality": "abdominal ultrasound", "short": "abdominal ultrasound", "day": 0,
             "finding": "a mildly fatty liver", "finding_short": "a mildly fatty liver"},
        ],
        "followup_imaging": {"modality": "follow-up CT of the chest and abdomen", "short": "follow-up CT",
                             "finding": "postoperative changes without evidence of recurrence", "finding_short": "no evidence of recurrence"},
        "regimen": {"name": "CAPOX", "desc": "oxaliplatin 130 mg/m2 on day 1 and capecitabine 1000 mg/m2 twice daily on days 1-14",
                    "drugs": ["oxaliplatin", "capecitabine"], "interval": 21, "cycles": [4, 5, 6]},
        "inpatient_meds": [("enoxaparin", "40 mg", "subcutaneously once daily", "thromboprophylaxis"),
                           ("ferric carboxymaltose", "1000 mg", "IV once", "iron deficiency anemia")],
        "titrated": {"drug": "capecitabine", "dose": "1000 mg/m2", "new": "750 mg/m2", "freq": "twice daily on days 1-14",
                     "indication": "adjuvant chemotherapy", "verb": "reduced", "reason": "grade 2 hand-foot syndrome", "regimen_drug": True},
        "ae": [{"drug": "ondansetron", "dose": "8 mg", "freq": "twice daily", "indication": "chemotherapy-induced nausea",
                "ae": "severe constipation with no bowel movement for four days", "ae_short": "severe constipation", "action": "switched",
                "repl": ("granisetron", "2 mg", "once daily"), "why": "5-HT3-antagonist-induced constipation"}],
        "labs": [("CEA", "CEA", "ng/mL", 1, (0, 5.0), 14.2, "down"), ("hemoglobin", "Hb", "g/dL", 1, (12.0, 16.0), 9.1, "up"),
                 ("ferritin", "ferritin", "ng/mL", 0, (30, 400), 11, "up"), ("platelets", "Plt", "/nL", 0, (150, 400), 412, "down")],
        "never": ["bevacizumab", "irinotecan", "cetuximab", "5-fluorouracil", "regorafenib"],
        "negated": [("liver metastases", "There is no evidence of liver metastases.", "rad"),
                    ("peritoneal carcinomatosis", "Intraoperatively there was no peritoneal carcinomatosis.", "course"),
                    ("synchronous colon polyps", "The remaining colon was free of synchronous polyps.", "course"),
                    ("Lynch syndrome", "Immunohistochemistry showed intact mismatch repair proteins, which makes Lynch syndrome unlikely, and genetic testing ruled out Lynch syndrome.", "course")],
        "uncertain": ("a lung metastasis", "A 4 mm nodule in the right lower lobe is nonspecific; a lung metastasis cannot be excluded.", "rad"),
    },
]

# -- filler phrase banks (no facts; typos may be applied) --------------------------------------------------------
SOCIAL = [["Lives with {partner} in a second-floor apartment.", "Lives alone in a house with a garden.",
           "Lives in an assisted-living facility.", "Lives with {partner}; two adult children live nearby."],
          ["Retired {job}.", "Works as a {job}.", "Works part-time as a {job}."],
          ["Former smoker, quit {quit} years ago.", "Never smoker.", "Current smoker, about 10 cigarettes per day."],
          ["Drinks alcohol occasionally, about two glasses of wine per week.", "No alcohol.", "Drinks one beer most evenings."],
          ["No illicit drug use."], ["Independent in activities of daily living.", "Needs help with shopping and cleaning."]]
HPI_FILL = ["The symptoms began gradually and have progressively worsened over the last weeks.",
            "{Pron} initially attributed the complaints to stress at home.",
            "An outpatient work-up by the general practitioner was inconclusive.",
            "{Pron} was seen in an emergency department once before and discharged with symptomatic treatment.",
            "There was no recent travel and no contact with sick persons.",
            "Exercise tolerance has decreased to about one flight of stairs.",
            "{Pron} manages {poss} own medications and keeps a written list.",
            "A family member accompanied the patient and provided additional history.",
            "There is no history of similar episodes.",
            "{Pron} has been eating smaller portions than usual."]
COURSE_FILL = ["The patient was reviewed daily on the ward round.", "Nursing reported good adherence to the medication plan.",
               "Mobilization improved steadily with physiotherapy.", "Thromboprophylaxis was given according to the ward protocol.",
               "Blood pressure readings were within the target range.", "The case was discussed in the interdisciplinary conference.",
               "Nutrition counseling was provided.", "Fluid balance was monitored closely.",
               "Before discharge the patient was able to climb one flight of stairs.",
               "Discharge planning was coordinated with the social services.", "Sleep on the ward was fair.",
               "The patient and the family were informed about the diagnosis and the treatment plan in a long conversation."]
RAD_FILL = ["Osseous structures without acute findings.", "Soft tissues unremarkable.", "Mild degenerative changes of the spine.",
            "Small calcified granuloma, unchanged and benign.", "The visualized upper abdomen is unremarkable.",
            "Vascular calcifications are noted.", "The thyroid gland appears normal.", "Small hiatal hernia.",
            "No free air.", "Image quality is adequate; mild motion artifacts.", "The adrenal glands are normal in size.",
            "Simple cortical renal cyst on the right, Bosniak I, requiring no follow-up."]
PROG_FILL = ["Overall stable course.", "We discussed the results of the recent investigations in detail.",
             "Adherence to the treatment plan is good.", "The patient's questions about the prognosis were addressed.",
             "Home blood pressure log reviewed.", "Encouraged regular physical activity as tolerated.",
             "Nutritional status is adequate.", "Psychosocial support was offered and accepted.",
             "Discussed the importance of adequate hydration.", "The patient wishes to continue the current approach.",
             "The patient was accompanied by a relative today.", "A copy of this note was sent to the GP."]
JOBS = ["teacher", "bus driver", "accountant", "nurse", "electrician", "shop owner", "engineer", "farmer", "secretary", "chef"]
ROS = ["Constitutional: {const}.", "HEENT: no sore throat, no rhinorrhea.", "Cardiovascular: no palpitations.",
       "Respiratory: see HPI.", "GI: appetite reduced, no vomiting.", "GU: no hematuria.", "Neuro: no focal weakness reported by pt.",
       "Skin: no new lesions.", "Psych: mood low at times, sleeping OK.", "MSK: occasional back pain, chronic."]
EXAM = ["General: alert, oriented x3, in no acute distress.", "Vitals: BP {bp} mmHg, HR {hr}/min, RR {rr}/min, SpO2 {spo2} % on room air, T {temp} C.",
        "HEENT: mucous membranes moist, no scleral icterus.", "Neck: supple, no JVD.", "Lungs: {lungs}.",
        "Heart: regular rate and rhythm, no murmurs.", "Abdomen: soft, non-tender, normal bowel sounds.",
        "Extremities: {ext}.", "Neuro: cranial nerves II-XII grossly intact, strength 5/5 throughout.", "Skin: warm and dry."]
PLAN_FILLER = ["Continue current regimen and monitor vitals q4h.", "PT/OT evaluation requested.", "DVT prophylaxis per protocol.",
               "Diet as tolerated.", "Code status: full code, confirmed with the patient.", "Social work consulted for discharge planning.",
               "Daily weights and strict intake/output.", "Fall precautions.", "Patient and family updated at the bedside.",
               "Will discuss at the interdisciplinary tumor board / case conference as appropriate.",
               "Pain controlled with current regimen.", "Encouraged ambulation in the hallway three times a day."]
EDU = ["The patient was informed about warning signs that should prompt an earlier visit.",
       "Written information about the medication changes was handed out.",
       "The patient verbalized understanding of the plan.", "Questions were answered to the patient's satisfaction.",
       "A follow-up appointment was scheduled.", "The general practitioner will receive a copy of this letter.",
       "Please check a blood count and electrolytes within one week.", "Driving is not recommended until the next review.",
       "The patient was advised to keep a symptom diary.", "Vaccination status was reviewed; influenza vaccination is recommended in autumn."]
NURSING = ["Patient seen on morning round.", "Slept through most of the night.", "Mobilized to the chair with assistance of one.",
           "Vitals stable throughout the shift.", "Skin intact, no pressure areas.", "Tolerating oral diet.",
           "IV line in the left forearm flushed and patent.", "Pain score 2/10 at rest.", "Family visited in the afternoon.",
           "Bowels opened today.", "Fluid balance positive by 300 mL.", "Call bell within reach."]
INTERVAL = ["Overall {pron} feels {feel} since the last visit.", "Appetite is {app}.", "{Pron} walks about {walk} minutes a day.",
            "No hospital admissions since the last visit.", "{Pron} has been taking all medications as prescribed.",
            "Sleep is {sleep}.", "Weight is {wt} kg today."]


class Doc:
    """A note under construction: text pieces plus the exact offsets of every fact sentence."""

    def __init__(self, date: dt.date, kind: str, rng: random.Random, style: int, typo_rate: float):
        self.date, self.kind, self.rng, self.style, self.typo_rate = date, kind, rng, style, typo_rate
        self.parts: list[str] = []
        self.n = 0
        self.facts: list[tuple[str, int, int, bool]] = []  # (fact id, start, end, primary)

    def w(self, text: str) -> None:
        self.parts.append(text)
        self.n += len(text)

    def filler(self, text: str, end: str = " ") -> None:
        """Non-evidence text: may carry a typo."""
        if self.typo_rate and self.rng.random() < self.typo_rate:
            text = typo(text, self.rng)
        self.w(text + end)

    def fact(self, fid: str | list[str], sentence: str, end: str = " ", primary: bool = True) -> None:
        start = self.n
        self.w(sentence)
        for f in [fid] if isinstance(fid, str) else fid:
            self.facts.append((f, start, start + len(sentence), primary))
        self.w(end)

    def head(self, title: str) -> None:
        self.w(f"\n{title}\n")

    def d(self, date: dt.date) -> str:
        return fmt_date(date, self.style)

    @property
    def text(self) -> str:
        return "".join(self.parts)


def typo(text: str, rng: random.Random) -> str:
    words = [m for m in re.finditer(r"[a-z]{6,}", text)]
    if not words:
        return text
    m = rng.choice(words)
    wd = m.group(0)
    i = rng.randrange(1, len(wd) - 2)
    wd = wd[:i] + wd[i + 1] + wd[i] + wd[i + 2:]
    return text[:m.start()] + wd + text[m.end():]


def an(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def med_str(m: dict, dose: str | None = None) -> str:
    return f"{m['name']} {dose or m['dose']} {m['freq']}"


# -- timeline -------------------------------------------------------------------------------------------------
def draw_timeline(rng: random.Random, pid: str) -> dict:
    sc = rng.choice(SCENARIOS)
    sex = sc.get("sex") or rng.choice("fm")
    first = rng.choice(FIRST_F if sex == "f" else FIRST_M)
    name = f"{first} {rng.choice(LAST)}"
    adm = dt.date(2015, 1, 1) + dt.timedelta(days=rng.randrange(0, 9 * 365))
    age = rng.randrange(45, 84)
    bday = dt.date(adm.year - age, rng.randrange(1, 13), rng.randrange(1, 29))
    if (bday.month, bday.day) > (adm.month, adm.day):
        age -= 1
    params = {"size": round(rng.uniform(3.2, 7.5), 1), "ki": rng.choice([40, 60, 70, 80, 90]), "ef": rng.randrange(25, 36),
              "ipi": rng.randrange(2, 5), "n": rng.randrange(5, 11), "pack": rng.randrange(25, 60), "years": rng.randrange(8, 22)}
    params["size2"] = round(params["size"] * rng.uniform(0.2, 0.5), 1)
    params["ef2"] = params["ef"] + rng.randrange(8, 16)
    if sc["key"] == "lymphoma":
        params["ef"] = rng.randrange(55, 66)
    if sc["key"] == "dm_ckd":
        params["size"] = round(rng.uniform(10.0, 11.8), 1)
    if sc["key"] == "stroke":
        params["size"] = round(rng.uniform(1.5, 3.5), 1)

    def f(s: str) -> str:
        return s.format(**params)

    # comorbidities with long-standing meds
    pool = [c for c in COMORBIDITIES if c.get("sex", sex) == sex and c["name"] not in sc.get("no_comorb", [])]
    comorb = rng.sample(pool, rng.randrange(2, 4))
    used_drugs: set[str] = set()
    meds: list[dict] = []

    def add_med(name, dose, freq, indication, start, role, **kw) -> dict:
        m = {"name": name, "dose": dose, "freq": freq, "indication": indication, "start": start, "stop": None,
             "dose_changes": [], "role": role, **kw}
        meds.append(m)
        used_drugs.add(name)
        return m

    if sc["key"] == "dm_ckd":
        comorb = [{"name": "type 2 diabetes mellitus", "abbr": "DM2", "med": ("metformin", "1000 mg", "twice daily")}] + comorb
    comorb_out = []
    for c in comorb:
        since = adm.year - rng.randrange(3, 15)
        comorb_out.append({"name": c["name"], "abbr": c["abbr"], "since": since})
        if c["med"]:
            add_med(c["med"][0], c["med"][1], c["med"][2], c["name"], None, "home", since=since)

    # events (day offsets from admission)
    d = lambda k: adm + dt.timedelta(days=k)  # noqa: E731
    proc = dict(sc["procedure"])
    proc2 = dict(sc["procedure2"])
    procedures = [{"name": proc["name"], "short": proc["short"], "date": d(proc["day"])},
                  {"name": proc2["name"], "short": proc2["short"], "date": d(proc2["day"] + rng.randrange(0, 2))}]
    imaging = [{"modality": im["modality"], "short": im["short"], "date": d(im["day"]), "finding": f(im["finding"]),
                "finding_short": f(im["finding_short"])} for im in sc["imaging"]]
    discharge_day = max(p["date"] for p in procedures) - adm
    los = discharge_day.days + rng.randrange(2, 5)
    discharge = d(los)
    tx_day = max(procedures[0]["date"], *(i["date"] for i in imaging)) - adm
    tx_start = d(tx_day.days + 1 + rng.randrange(0, 2))
    if tx_start >= discharge:
        tx_start = d(los - 1)
    chemo_start = discharge + dt.timedelta(days=rng.randrange(28, 36)) if sc.get("adjuvant") else tx_start

    inpatient = []
    for (nm, dose, freq, ind) in sc["inpatient_meds"]:
        if nm in used_drugs:
            continue
        day0 = adm if ind in ("thrombolysis", "decongestion", "the acute exacerbation", "the bacterial bronchitis", "edema",
                              "prandial glucose control") else tx_start
        m = add_med(nm, dose, freq, ind, day0, "inpatient")
        inpatient.append(m)
        if "for 5 days" in freq or "for 7 days" in freq:
            m["stop"] = day0 + dt.timedelta(days=5 if "5 days" in freq else 7)
        if "IV" in freq:
            m["stop"] = discharge
        if nm == "alteplase" or "IV once" in freq:
            m["stop"] = day0
    # follow-up visits
    regimen = sc.get("regimen")
    cycles: list[dict] = []
    visits: list[dt.date] = []
    if regimen:
        n_cycles = rng.choice(regimen["cycles"])
        for k in range(n_cycles):
            cycles.append({"cycle": k + 1, "date": chemo_start + dt.timedelta(days=k * regimen["interval"])})
        for c in cycles:
            visits.append(c["date"])
        visits.append(cycles[-1]["date"] + dt.timedelta(days=rng.randrange(18, 30)))
        for nm in regimen["drugs"]:
            used_drugs.add(nm)
    else:
        t = discharge
        for k in range(rng.randrange(4, 7)):
            t = t + dt.timedelta(days=rng.randrange(14, 40))
            visits.append(t)
    visits = sorted(set(v for v in visits if v > discharge))
    while len(visits) < 3:
        visits.append((visits[-1] if visits else discharge) + dt.timedelta(days=rng.randrange(14, 30)))

    # adverse event: a drug started on some date, AE onset k days later, reported at the next visit
    ae_pool = [a for a in sc["ae"] + [g for g in GENERIC_AE if g["drug"] not in sc.get("exclude_generic", [])]
               if a.get("sex", sex) == sex and a["drug"] not in used_drugs
               and (a.get("repl") is None or a["repl"][0] not in used_drugs)]
    ae_def = rng.choice(ae_pool)
    start_choices = [discharge] + visits[:-2]
    ae_start = rng.choice(start_choices)
    if ae_start == discharge and rng.random() < 0.5:
        ae_start = d(los - rng.randrange(1, 3))
    later = [v for v in visits if v > ae_start + dt.timedelta(days=4)]
    report_visit = later[0]
    gap = (report_visit - ae_start).days
    k = rng.randrange(3, min(21, gap - 1) + 1) if gap - 1 >= 3 else 3
    onset = ae_start + dt.timedelta(days=k)
    ae_med = add_med(ae_def["drug"], ae_def["dose"], ae_def["freq"], ae_def["indication"], ae_start, "ae_drug")
    ae_med["stop"] = report_visit
    ae_med["stop_reason"] = ae_def["ae_short"]
    repl_med = None
    if ae_def["action"] == "switched":
        r = ae_def["repl"]
        repl_med = add_med(r[0], r[1], r[2], ae_def["indication"], report_visit, "replacement")
    ae = {"event": ae_def["ae"], "event_short": ae_def["ae_short"], "drug": ae_def["drug"], "drug_start": ae_start,
          "onset": onset, "days_after_start": k, "reported": report_visit, "action": ae_def["action"],
          "replacement": repl_med["name"] if repl_med else None, "why": ae_def["why"]}

    # titrated drug: started at discharge (or first visit), dose changed at a later visit (not the AE visit if possible)
    tdef = sc["titrated"]
    tit = None
    if tdef["drug"] not in used_drugs or tdef.get("regimen_drug"):
        t_start = cycles[0]["date"] if tdef.get("regimen_drug") else rng.choice([discharge, visits[0]])
        cands = [v for v in visits if v > t_start + dt.timedelta(days=10) and v != report_visit] or \
                [v for v in visits if v > t_start]
        if cands:
            change = rng.choice(cands[:2])
            if tdef.get("regimen_drug"):
                tit = {"name": tdef["drug"], "dose": tdef["dose"], "freq": tdef["freq"], "indication": tdef["indication"],
                       "start": t_start, "stop": None, "dose_changes": [], "role": "regimen"}
                meds.append(tit)
            else:
                tit = add_med(tdef["drug"], tdef["dose"], tdef["freq"], tdef["indication"], t_start, "titrated")
            tit["dose_changes"].append({"date": change, "dose": tdef["new"], "reason": tdef["reason"], "verb": tdef["verb"]})

    # labs: several draws, abnormal series
    draw_dates = [adm, d(min(2, los - 1)), discharge] + visits
    draw_dates = sorted(set(draw_dates))[: rng.randrange(4, 7)]
    lab_defs = rng.sample(sc["labs"], 3)
    labs = []
    for (lname, abbr, unit, dec, normal, base, trend) in lab_defs:
        v = base * rng.uniform(0.9, 1.1)
        series = []
        step_sign = -1 if trend == "down" else 1
        lo, hi = normal
        target = (lo + hi) / 2
        recovering = (v > hi and trend == "down") or (v < lo and trend == "up")
        unit_step = 10 ** -dec
        for i, dd in enumerate(draw_dates):
            if i:
                if recovering:
                    v = v + (target - v) * rng.uniform(0.2, 0.4)
                else:
                    v = v * (1 + step_sign * rng.uniform(0.03, 0.09))
            val = round(v, dec) if dec else int(round(v))
            while any(x["value"] == val for x in series):  # distinct values across dates
                v = val + step_sign * unit_step
                val = round(v, dec) if dec else int(round(v))
            lo, hi = normal
            flag = "H" if val > hi else ("L" if val < lo else "")
            series.append({"date": dd, "value": val, "flag": flag})
        labs.append({"name": lname, "abbr": abbr, "unit": unit, "decimals": dec, "normal": list(normal), "trend": trend,
                     "series": series})

    fam = rng.sample([x for x in FAMILY if x[1] not in (sc["diagnosis"], "breast cancer" if sc["key"] == "breast" else "",
                                                          "colon cancer" if sc["key"] == "colorectal" else "")], 2)
    while fam[0][0] == fam[1][0]:
        fam = [fam[0], rng.choice([x for x in FAMILY if x[0] != fam[0][0] and x[1] not in (sc["diagnosis"], sc["short"])])]
    family = [{"relative": r, "diagnosis": dx, "age": rng.randrange(48, 80)} for r, dx in fam]

    negated = [{"finding": n[0], "sentence": n[1], "where": n[2]} for n in rng.sample(sc["negated"], 2)]
    present = rng.sample(sc["presenting"], 3)
    present = [p.format(**params) for p in present]
    ae_words = set(re.findall(r"[a-z]{4,}", ae_def["ae"] + " " + ae_def["ae_short"]))
    denied = rng.sample([s for s in SYMPTOMS_DENIABLE if not any(s in p for p in present)
                         and not set(re.findall(r"[a-z]{4,}", s)) & ae_words], 3)
    unc = sc["uncertain"]
    fu = sc["followup_imaging"]
    fu_date = (cycles[min(3, len(cycles) - 1)]["date"] + dt.timedelta(days=rng.randrange(10, 18))) if cycles \
        else visits[-2] - dt.timedelta(days=rng.randrange(2, 6))
    if fu_date <= discharge:
        fu_date = discharge + dt.timedelta(days=7)
    imaging.append({"modality": fu["modality"], "short": fu["short"], "date": fu_date, "finding": f(fu["finding"]),
                    "finding_short": f(fu["finding_short"]), "followup": True})
    return {
        "patient_id": pid, "scenario": sc["key"], "name": name, "sex": sex, "birthday": bday, "age": age,
        "diagnosis": sc["diagnosis"], "diagnosis_short": sc["short"], "stage": rng.choice(sc["stage"]),
        "dx_detail": f(sc["dx_detail"]), "ward": sc["ward"], "cc": sc["cc"],
        "admission": adm, "discharge": discharge, "comorbidities": comorb_out, "medications": meds,
        "regimen": ({"name": regimen["name"], "desc": regimen["desc"], "drugs": regimen["drugs"], "cycles": cycles}
                    if regimen else None),
        "adverse_event": ae, "labs": labs, "procedures": procedures, "imaging": imaging, "family_history": family,
        "negated_findings": negated, "neg_img": sc.get("neg_img", 0), "unc_img": sc.get("unc_img", 0),
        "fu_compare": fu.get("compare", 0), "uncertain_findings": [{"finding": unc[0], "sentence": unc[1], "where": unc[2]}],
        "presenting": present, "denied": denied, "visits": visits, "params": params,
        "pathology": f(proc["pathology"]) if "pathology" in proc else None, "path_specimen": proc.get("path_specimen"),
        "procedure_result": proc.get("result"), "never_given": list(sc["never"]),
        "allergy": rng.choice(["No known drug allergies.", "Penicillin (hives).", "NKDA.", "Sulfonamides (rash).",
                               "Contrast media (urticaria), premedication required." if sc["key"] != "stroke" else "NKDA."]),
    }


# -- rendering ------------------------------------------------------------------------------------------------
class Renderer:
    def __init__(self, tl: dict, rng: random.Random, verbosity: float):
        self.tl, self.rng, self.v = tl, rng, verbosity
        self.docs: list[Doc] = []
        self.pron = "she" if tl["sex"] == "f" else "he"
        self.poss = "her" if tl["sex"] == "f" else "his"
        self.title = "Mrs." if tl["sex"] == "f" else "Mr."
        self.surname = tl["name"].split()[-1]
        self.pmh_paragraph: str | None = None
        self.hpi_paragraph: str | None = None

    # helpers
    def new(self, date: dt.date, kind: str) -> Doc:
        doc = Doc(date, kind, self.rng, self.rng.randrange(4), 0.04 + 0.04 * self.rng.random())
        self.docs.append(doc)
        return doc

    def n_fill(self, lo: int, hi: int) -> int:
        return max(0, int(round(self.rng.randint(lo, hi) * self.v)))

    def fill(self, doc: Doc, bank: list[str], lo: int, hi: int, end: str = " ", **kw) -> None:
        k = min(len(bank), self.n_fill(lo, hi))
        for s in self.rng.sample(bank, k):
            doc.filler(self.fmt(s, **kw), end)

    def fmt(self, s: str, **kw) -> str:
        r = self.rng
        vals = {"partner": r.choice(["her husband", "his wife", "a partner", "a daughter"]), "job": r.choice(JOBS),
                "quit": r.randrange(2, 25), "const": r.choice(["fatigue", "no fever", "no chills"]),
                "bp": f"{r.randrange(105, 165)}/{r.randrange(60, 95)}", "hr": r.randrange(58, 104), "rr": r.randrange(12, 22),
                "spo2": r.randrange(91, 99), "temp": f"{r.uniform(36.2, 37.6):.1f}",
                "lungs": r.choice(["clear to auscultation bilaterally", "scattered expiratory wheezes", "fine bibasilar crackles"]),
                "ext": r.choice(["no edema", "trace pitting edema of both ankles", "warm, well perfused"]),
                "pron": self.pron, "Pron": cap(self.pron), "poss": self.poss, "feel": r.choice(["better", "about the same", "somewhat tired", "well"]),
                "app": r.choice(["good", "fair", "reduced"]), "walk": r.choice([10, 20, 30, 45]),
                "sleep": r.choice(["fair", "unchanged", "interrupted by nocturia"]), "wt": r.randrange(55, 98)}
        vals.update(kw)
        return s.format(**vals)

    def meds_on(self, date: dt.date, include_inpatient: bool = False) -> list[tuple[dict, str]]:
        out = []
        for m in self.tl["medications"]:
            if m["role"] == "regimen":
                continue
            start = m["start"]
            if start is not None and start > date:
                continue
            if m["stop"] is not None and m["stop"] <= date:
                continue
            if m["role"] == "inpatient" and not include_inpatient and m["stop"] is None and "IV" in m["freq"]:
                continue
            dose = m["dose"]
            for c in m["dose_changes"]:
                if c["date"] <= date:
                    dose = c["dose"]
            out.append((m, dose))
        return out

    def med_list(self, doc: Doc, date: dt.date, header: str, include_inpatient=False, primary_ids: bool = False) -> None:
        doc.head(header)
        for m, dose in self.meds_on(date, include_inpatient):
            line = f"- {cap(m['name'])} {dose} {m['freq']}"
            if self.rng.random() < 0.5 and m["indication"]:
                line += f" ({m['indication']})"
            doc.fact(f"medlist:{m['name']}", line, end="\n", primary=False)

    def lab_sentence(self, doc: Doc, date: dt.date, intro: str) -> None:
        parts, fids = [], []
        for lab in self.tl["labs"]:
            for s in lab["series"]:
                if s["date"] == date:
                    nm = lab["abbr"] if self.rng.random() < 0.5 else lab["name"]
                    parts.append(f"{nm} {s['value']} {lab['unit']}")
                    fids.append(f"lab:{lab['name']}:{date.isoformat()}")
        if parts:
            doc.fact(fids, f"{intro} {', '.join(parts)}.")

    def lab_dates(self) -> list[dt.date]:
        return [s["date"] for s in self.tl["labs"][0]["series"]]

    # documents
    def render(self) -> list[Doc]:
        tl = self.tl
        lab_dates = self.lab_dates()
        room = MAX_NOTES - (3 + len(tl["imaging"]) + len(tl["visits"]))
        n_tables = max(0, min(len(lab_dates) - 1, self.rng.randrange(1, 3), room))
        table_dates = set(self.rng.sample(lab_dates[1:], n_tables))
        self.table_dates = table_dates
        self.hp()
        for im in tl["imaging"]:
            self.radiology(im)
        if tl["pathology"]:
            self.pathology()
        else:
            self.procedure_note()
        for ld in sorted(table_dates):
            self.lab_table(ld)
        self.discharge_letter()
        for i, v in enumerate(tl["visits"]):
            self.progress(v, i)
        if self.rng.random() < 0.7 and len(self.docs) < MAX_NOTES:
            self.medication_list(tl["visits"][-1] + dt.timedelta(days=self.rng.randrange(1, 10)))
        return self.docs

    def hp(self) -> None:
        tl, r = self.tl, self.rng
        doc = self.new(tl["admission"], "admission note")
        doc.w(r.choice(["ADMISSION HISTORY AND PHYSICAL", "History & Physical (H&P)", "Admission note"]) + "\n")
        doc.w(f"Date of admission: {doc.d(tl['admission'])}\n")
        doc.w(f"Patient: {tl['name']}, DOB {fmt_date(tl['birthday'], doc.style)}\nService: {tl['ward']}\n")
        doc.head("Chief Complaint:")
        doc.w(f"{cap(tl['cc'])}.\n")
        doc.head("History of Present Illness:")
        abbr = ", ".join(c["abbr"] for c in tl["comorbidities"])
        start = doc.n
        sx = tl["presenting"]
        doc.filler(f"{tl['age']} y/o {'F' if tl['sex'] == 'f' else 'M'} with PMH of {abbr} who presents to the ED c/o "
                   f"{sx[0]} for the past {r.randrange(2, 9)} weeks.")
        doc.fact("presenting", f"{cap(self.pron)} also reports {sx[1]} and {sx[2]}.")
        self.fill(doc, HPI_FILL, 2, 4)
        doc.fact("denied", f"Pt denies {tl['denied'][0]}, {tl['denied'][1]} and {tl['denied'][2]}.")
        self.fill(doc, HPI_FILL, 1, 2)
        self.hpi_paragraph = "".join(doc.parts)[start:doc.n].strip()
        doc.w("\n")
        doc.head("Past Medical History:")
        start = doc.n
        for c in tl["comorbidities"]:
            doc.fact(f"comorb:{c['name']}", f"- {cap(c['name'])} ({c['abbr']}), diagnosed {c['since']}.", end="\n")
        doc.filler(r.choice(["- s/p appendectomy in childhood.", "- s/p cholecystectomy.", "- s/p right knee arthroscopy.",
                             "- s/p tonsillectomy.", "- Seasonal allergic rhinitis."]), end="\n")
        self.pmh_paragraph = "".join(doc.parts)[start:doc.n]
        doc.head("Medications on admission:")
        home = [(m, m["dose"]) for m in tl["medications"] if m["role"] == "home"]
        for m, dose in home:
            doc.fact(f"home:{m['name']}", f"- {cap(m['name'])} {dose} {m['freq']}", end="\n")
        if not home:
            doc.w("None.\n")
        doc.head("Allergies:")
        doc.w(tl["allergy"] + "\n")
        doc.head("Family History:")
        start = doc.n
        for i, fm in enumerate(tl["family_history"]):
            doc.fact(f"fam:{i}", f"{cap(fm['relative'])} with {fm['diagnosis']}, diagnosed at age {fm['age']}.")
        doc.filler(r.choice(["Otherwise non-contributory.", "No other hereditary diseases known.", "Both grandparents died of old age."]))
        self.fam_paragraph = "".join(doc.parts)[start:doc.n].strip()
        doc.w("\n")
        doc.head("Social History:")
        start = doc.n
        for group in SOCIAL:
            doc.filler(self.fmt(r.choice(group)))
        self.social_paragraph = "".join(doc.parts)[start:doc.n].strip()
        doc.w("\n")
        doc.head("Review of Systems:")
        self.fill(doc, ROS, 5, 9, end="\n")
        doc.head("Physical Examination:")
        self.fill(doc, EXAM, 6, 10, end="\n")
        doc.head("Laboratory:")
        self.lab_sentence(doc, tl["admission"], "Admission labs:")
        doc.w("\n")
        doc.head("Assessment and Plan:")
        doc.filler(f"{tl['age']} y/o with {abbr}, admitted with {tl['cc']}, suspicious for {tl['diagnosis_short']}.", end="\n")
        for im in tl["imaging"]:
            if im["date"] <= tl["admission"] + dt.timedelta(days=3) and not im.get("followup"):
                doc.filler(f"- {cap(im['short'])} {'today' if im['date'] == tl['admission'] else 'planned'}.", end="\n")
        doc.filler(f"- {cap(tl['procedures'][0]['short'])} to be scheduled.", end="\n")
        self.fill(doc, PLAN_FILLER, 4, 8, end="\n")
        doc.w(f"\nDr. {r.choice(LAST)}, resident physician\n")

    def radiology(self, im: dict) -> None:
        tl, r = self.tl, self.rng
        doc = self.new(im["date"], "radiology report")
        doc.w(f"{r.choice(['RADIOLOGY REPORT', 'Department of Radiology', 'Imaging report'])}\n")
        doc.w(f"Examination: {cap(im['modality'])}\nDate of examination: {doc.d(im['date'])}\n")
        doc.w(f"Patient: {tl['name']}, born {fmt_date(tl['birthday'], doc.style)}\n")
        doc.head("Clinical information:")
        doc.filler(f"{cap(tl['cc'])}." if not im.get("followup") else f"Known {tl['diagnosis_short']}, response assessment.")
        doc.filler(r.choice(["Question of extent of disease.", "Please assess.", "Comparison requested."]))
        doc.w("\n")
        doc.head("Technique:")
        doc.filler(r.choice(["Standard protocol.", "Contrast-enhanced acquisition after IV contrast.", "Without contrast.",
                             "Multiplanar reconstructions were obtained."]))
        doc.w("\n")
        doc.head("Findings:")
        first = not im.get("followup") and im is tl["imaging"][tl["neg_img"]]
        unc_here = not im.get("followup") and im is tl["imaging"][tl["unc_img"]]
        if im.get("followup"):
            prior = tl["imaging"][0]
            doc.filler(f"Comparison is made with the {prior['short']} of {doc.d(prior['date'])}.")
        doc.fact(f"img:{im['short']}", f"The study shows {im['finding']}.")
        self.fill(doc, RAD_FILL, 3, 6)
        if first:
            for n in tl["negated_findings"]:
                if n["where"] == "rad":
                    doc.fact(f"neg:{n['finding']}", n["sentence"])
        if unc_here:
            for u in tl["uncertain_findings"]:
                if u["where"] == "rad":
                    doc.fact(f"unc:{u['finding']}", u["sentence"])
        doc.w("\n")
        doc.head("Impression:")
        doc.fact(f"impr:{im['short']}", f"{cap(im['finding_short'])}.", end="\n")
        if first:
            for n in tl["negated_findings"]:
                if n["where"] == "rad":
                    doc.fact(f"negimpr:{n['finding']}", f"No evidence of {n['finding']}.", end="\n")
        doc.w(f"\nReported by Dr. {r.choice(LAST)}, consultant radiologist\n")

    def pathology(self) -> None:
        tl, r = self.tl, self.rng
        p = tl["procedures"][0]
        date = p["date"] + dt.timedelta(days=r.randrange(2, 4))
        doc = self.new(date, "pathology report")
        doc.w("PATHOLOGY REPORT\n")
        doc.w(f"Received: {doc.d(p['date'])}   Reported: {doc.d(date)}\nPatient: {tl['name']}\n")
        doc.head("Specimen:")
        doc.w(f"{tl['path_specimen']}\n")
        doc.head("Clinical details:")
        doc.fact("proc:0", f"{cap(p['name'])} performed on {doc.d(p['date'])}.")
        doc.w("\n")
        doc.head("Macroscopy:")
        doc.filler(r.choice(["Multiple grey-white tissue fragments, up to 1.5 cm, entirely embedded.",
                             "Several cores of tan tissue, total length 3.2 cm, entirely submitted.",
                             "One tissue fragment measuring 2.1 x 1.4 x 0.9 cm, serially sliced."]))
        doc.w("\n")
        doc.head("Microscopy:")
        doc.fact("pathology", tl["pathology"])
        self.fill(doc, ["Immunohistochemistry was performed with appropriate controls.",
                        "Areas of necrosis are present.", "No lymphovascular invasion is identified in the sampled tissue.",
                        "The background tissue shows reactive changes."], 1, 3)
        doc.w("\n")
        doc.head("Diagnosis:")
        doc.fact("path_dx", f"{cap(tl['diagnosis'])}, {tl['dx_detail']}.", end="\n")
        doc.w(f"\nDr. {r.choice(LAST)}, pathologist\n")

    def procedure_note(self) -> None:
        tl, r = self.tl, self.rng
        p = tl["procedures"][0]
        doc = self.new(p["date"], "procedure note")
        doc.w(f"PROCEDURE NOTE\nDate: {doc.d(p['date'])}\nPatient: {tl['name']}\n")
        doc.head("Procedure:")
        doc.fact("proc:0", f"{cap(p['name'])} was performed on {doc.d(p['date'])}.")
        doc.w("\n")
        doc.head("Indication:")
        doc.filler(f"{cap(tl['cc'])}.")
        doc.w("\n")
        doc.head("Description:")
        doc.filler(r.choice(["Informed consent was obtained.", "Time-out performed."]))
        doc.filler(r.choice(["Local anesthesia and conscious sedation.", "Performed under general anesthesia.",
                             "Right femoral access."]))
        doc.fact("proc_result", tl["procedure_result"])
        doc.filler(r.choice(["No immediate complications.", "Estimated blood loss minimal.", "Hemostasis achieved."]))
        doc.w("\n")
        doc.head("Plan:")
        self.fill(doc, ["Bed rest for 4 hours.", "Check puncture site q1h.", "Resume diet in the evening.",
                        "Continue monitoring on the ward."], 1, 3, end="\n")
        doc.w(f"\nDr. {r.choice(LAST)}\n")

    def lab_table(self, date: dt.date) -> None:
        tl, r = self.tl, self.rng
        doc = self.new(date, "lab report")
        doc.w(f"LABORATORY REPORT\nCollected: {doc.d(date)} 07:{r.randrange(10, 59)}\nPatient: {tl['name']}\n\n")
        doc.w(f"{'Test':<36}{'Result':>10}  {'Unit':<14}{'Reference':<14}Flag\n")
        rows = []
        for lab in tl["labs"]:
            for s in lab["series"]:
                if s["date"] == date:
                    lo, hi = lab["normal"]
                    rows.append((f"lab:{lab['name']}:{date.isoformat()}",
                                 f"{lab['name']:<36}{s['value']:>10}  {lab['unit']:<14}{f'{lo}-{hi}':<14}{s['flag']}"))
        extra = [("Sodium", "139", "mmol/L", "135-145"), ("Chloride", "101", "mmol/L", "98-107"),
                 ("Albumin", "3.6", "g/dL", "3.5-5.2"), ("Bilirubin, total", "0.7", "mg/dL", "0.1-1.2"),
                 ("Urea", "38", "mg/dL", "17-43"), ("Calcium", "2.31", "mmol/L", "2.1-2.6"), ("TSH", "1.9", "mU/L", "0.4-4.0")]
        used = {lab["name"].lower() for lab in tl["labs"]}
        extra = [e for e in extra if e[0].lower() not in used]
        for e in r.sample(extra, min(len(extra), self.n_fill(2, 5))):
            rows.append((None, f"{e[0]:<36}{e[1]:>10}  {e[2]:<14}{e[3]:<14}"))
        for fid, line in rows:
            line = line.rstrip()
            if fid:
                doc.fact(fid, line, end="\n")
            else:
                doc.w(line + "\n")
        doc.w(f"\nValidated by {r.choice(LAST)}, clinical chemistry. H = above, L = below reference range.\n")

    def discharge_letter(self) -> None:
        tl, r = self.tl, self.rng
        doc = self.new(tl["discharge"], "discharge letter")
        doc.w(f"{r.choice(['DISCHARGE SUMMARY', 'Discharge letter', 'Discharge Summary'])}\n")
        doc.w(f"{tl['ward']}\nDate: {doc.d(tl['discharge'])}\n\nDear colleague,\n\n")
        doc.w(f"we report on {self.title} {tl['name']}, born {fmt_date(tl['birthday'], doc.style)}, who was treated on our ward "
              f"from {doc.d(tl['admission'])} to {doc.d(tl['discharge'])}.\n")
        doc.head("Diagnoses:")
        doc.fact("dx", f"{cap(tl['diagnosis'])}, {tl['stage']}, {tl['dx_detail']}.", end="\n")
        for c in tl["comorbidities"]:
            doc.fact(f"comorb_dl:{c['name']}", f"{cap(c['name'])}.", end="\n", primary=False)
        doc.head("History:")
        doc.w(f"{self.hpi_paragraph}\n")  # copy-forward from the H&P
        doc.head("Family and social history:")
        doc.w(f"{self.fam_paragraph} {self.social_paragraph}\n")
        doc.head("Diagnostic work-up:")
        wstart = doc.n
        for im in tl["imaging"]:
            if im["date"] <= tl["discharge"] and not im.get("followup"):
                doc.fact(f"img_dl:{im['short']}", f"{cap(im['modality'])} on {doc.d(im['date'])} showed {im['finding']}.",
                         primary=False)
        for n in tl["negated_findings"]:
            if n["where"] == "course":
                doc.fact(f"neg:{n['finding']}", n["sentence"])
        for u in tl["uncertain_findings"]:
            if u["where"] == "course":
                doc.fact(f"unc:{u['finding']}", u["sentence"])
        self.workup_paragraph = "".join(doc.parts)[wstart:doc.n].strip()
        doc.w("\n")
        doc.head("Hospital Course:")
        p0 = tl["procedures"][0]
        days_in = (p0["date"] - tl["admission"]).days
        when = "On the day of admission" if days_in == 0 else f"{cap(NUM_WORDS[days_in])} day{'s' if days_in > 1 else ''} after admission"
        if tl["pathology"]:
            doc.fact("proc_dl:0", f"{when}, {an(p0['name'])} {p0['name']} was performed, which confirmed the diagnosis.", primary=False)
        else:
            doc.fact("proc_dl:0", f"{when}, {p0['name']} was performed.", primary=False)
        for m in tl["medications"]:
            if m["role"] == "inpatient":
                doc.fact(f"med_start:{m['name']}", f"{cap(m['name'])} {m['dose']} {m['freq']} was started on {doc.d(m['start'])} for {m['indication']}.")
        reg = tl["regimen"]
        if reg and reg["cycles"]:
            c1 = reg["cycles"][0]
            if c1["date"] <= tl["discharge"]:
                doc.fact(["cycle:1", "reg_start"], f"Chemotherapy with {reg['name']} ({reg['desc']}) was started on {doc.d(c1['date'])} (cycle 1).")
            else:
                doc.fact("reg_plan", f"Chemotherapy with {reg['name']} ({reg['desc']}) is planned after recovery.", primary=False)
        p1 = tl["procedures"][1]
        pod = (tl["discharge"] - p1["date"]).days
        doc.fact("proc:1", f"{cap(p1['name'])} followed on {doc.d(p1['date'])} without complications.")
        if pod > 0:
            doc.filler(f"On POD {min(pod, 2)} the patient was mobilized and tolerated a regular diet.")
        for m in tl["medications"]:
            if m["start"] is not None and m["role"] in ("ae_drug", "titrated") and tl["admission"] <= m["start"] <= tl["discharge"]:
                doc.fact(f"med_start:{m['name']}", f"{cap(m['name'])} {m['dose']} {m['freq']} was started on {doc.d(m['start'])} for {m['indication']}.")
        self.fill(doc, COURSE_FILL, 4, 8)
        doc.w("\n")
        doc.head("Laboratory:")
        if tl["discharge"] not in self.table_dates:
            self.lab_sentence(doc, tl["discharge"], "At discharge:")
        for ld in self.lab_dates():
            if tl["admission"] < ld < tl["discharge"] and ld not in self.table_dates:
                self.lab_sentence(doc, ld, f"On {doc.d(ld)}:")
        doc.w("\n")
        doc.head("Examination at discharge:")
        self.fill(doc, EXAM, 3, 6, end="\n")
        self.med_list(doc, tl["discharge"], "Medications on Discharge:")
        doc.head("Procedure / Recommendations:")
        self.fill(doc, EDU, 4, 8)
        doc.w(f"\n\nWith kind regards,\nDr. {r.choice(LAST)}, attending physician\n")

    def progress(self, date: dt.date, i: int) -> None:
        tl, r = self.tl, self.rng
        doc = self.new(date, "progress note")
        reg = tl["regimen"]
        doc.w(f"{r.choice(['Outpatient progress note', 'PROGRESS NOTE', 'Clinic visit', 'Follow-up visit'])} - {doc.d(date)}\n")
        doc.w(f"Pt: {tl['name']} | DOB {fmt_date(tl['birthday'], doc.style)} | {tl['ward']} clinic\n")
        doc.head("Diagnosis:")
        doc.w(f"{cap(tl['diagnosis'])} ({tl['diagnosis_short']}), {tl['stage']}.\n")
        doc.head("Interval History:")
        self.fill(doc, INTERVAL, 2, 5)
        ae = tl["adverse_event"]
        if date == ae["reported"]:
            rel = (date - ae["onset"]).days
            if r.random() < 0.5:
                doc.fact("ae_onset", f"{cap(self.pron)} reports {ae['event']} since {doc.d(ae['onset'])}.")
            else:
                doc.fact("ae_onset", f"{cap(self.pron)} c/o {ae['event']} for the past {rel} days.")
            doc.filler(r.choice(["No other new symptoms.", "This is bothering the patient considerably.",
                                 "Symptoms are worse in the evening."]))
        doc.w("\n")
        if i == 0 or r.random() < 0.6:  # copy-forward of the admission history
            doc.head(r.choice(["History (copied from admission):", "Background:", "HPI (from admission note):"]))
            doc.w(self.hpi_paragraph + "\n")
        doc.head("Past Medical History:")
        doc.w(self.pmh_paragraph)  # copy-forward
        if r.random() < 0.75:
            doc.head(r.choice(["Work-up (from discharge letter):", "Previous findings:", "Diagnostic summary:"]))
            doc.w(self.workup_paragraph + "\n")
        if r.random() < 0.6:
            doc.head("Family / Social History:")
            doc.w(f"{self.fam_paragraph} {self.social_paragraph}\n")
        doc.head("Review of Systems:")
        self.fill(doc, ROS, 3, 6, end="\n")
        doc.head("Examination:")
        self.fill(doc, EXAM, 3, 7, end="\n")
        doc.head("Labs:")
        if date in self.lab_dates() and date not in self.table_dates:
            self.lab_sentence(doc, date, "Labs today:")
        else:
            doc.filler(r.choice(["No labs drawn today.", "Labs pending at the time of the note.", "See separate lab report."]))
        doc.w("\n")
        doc.head("Assessment and Plan:")
        if reg:
            for c in reg["cycles"]:
                if c["date"] == date and c["cycle"] == 1:
                    doc.fact(["cycle:1", "reg_start"], f"Adjuvant chemotherapy with {reg['name']} ({reg['desc']}) was started today, {doc.d(date)} (cycle 1).")
                elif c["date"] == date:
                    doc.fact(f"cycle:{c['cycle']}", f"Cycle {c['cycle']} of {reg['name']} was administered today ({doc.d(date)}).")
            if date > reg["cycles"][-1]["date"] and date == tl["visits"][-1]:
                doc.filler(f"Chemotherapy with {reg['name']} has been completed.")
        if date == ae["reported"]:
            drug = ae["drug"]
            if ae["action"] == "stopped":
                doc.fact("ae_action", f"{cap(drug)} was stopped today because of {ae['why']}.")
            else:
                repl = next(m for m in tl["medications"] if m["name"] == ae["replacement"])
                doc.fact("ae_action", f"{cap(drug)} was switched to {repl['name']} {repl['dose']} {repl['freq']} because of {ae['why']}.")
        for m in tl["medications"]:
            if m["role"] in ("ae_drug", "titrated") and m["start"] == date and not (tl["admission"] <= m["start"] <= tl["discharge"]):
                doc.fact(f"med_start:{m['name']}", f"{cap(m['name'])} {m['dose']} {m['freq']} was started on {doc.d(m['start'])} for {m['indication']}.")
            for c in m["dose_changes"]:
                if c["date"] == date:
                    doc.fact(f"med_change:{m['name']}", f"Because of {c['reason']}, the dose of {m['name']} was {c['verb']} from {m['dose']} to {c['dose']} {m['freq']}.")
        for im in tl["imaging"]:
            if im.get("followup") and tl["visits"][max(0, i - 1)] < im["date"] <= date and i > 0:
                doc.filler(f"The {im['short']} of {doc.d(im['date'])} was discussed with the patient.")
        self.fill(doc, PROG_FILL, 2, 5)
        self.fill(doc, PLAN_FILLER, 1, 3)
        doc.filler(f"Next visit in {r.choice(['2', '3', '4', '6'])} weeks.")
        doc.w("\n")
        self.med_list(doc, date, "Current medications:")
        doc.w(f"\n{r.choice(['Dr.', 'Signed: Dr.', '-- Dr.'])} {r.choice(LAST)}\n")

    def medication_list(self, date: dt.date) -> None:
        tl, r = self.tl, self.rng
        doc = self.new(date, "medication list")
        doc.w(f"MEDICATION PLAN\nPrinted: {doc.d(date)}\nPatient: {tl['name']}, DOB {fmt_date(tl['birthday'], doc.style)}\n\n")
        doc.w(f"{'Drug':<28}{'Dose':<30}Indication\n")
        for m, dose in self.meds_on(date):
            doc.fact(f"medplan:{m['name']}", f"{cap(m['name']):<28}{(dose + ' ' + m['freq'])[:29]:<30}{m['indication'] or ''}",
                     end="\n", primary=False)
        doc.head("Discontinued:")
        for m in tl["medications"]:
            if m["stop"] is not None and m["stop"] <= date and m["role"] == "ae_drug":
                doc.fact(f"medplan_stop:{m['name']}", f"{cap(m['name'])} - stopped {doc.d(m['stop'])} ({m.get('stop_reason')})",
                         end="\n", primary=False)
        doc.w("\nPlease bring this plan to every appointment.\n")

    def nursing(self, date: dt.date) -> None:
        doc = self.new(date, "nursing note")
        doc.w(f"Nursing note {doc.d(date)}\nPatient: {self.tl['name']}\n\n")
        self.fill(doc, NURSING, 6, 11)
        doc.w("\n")


# -- question wordings and option formats ------------------------------------------------------------------------
# Five wordings per template. Wording 1 is the original phrasing (the shipped dev set uses only it); 2-3 are
# further wordings a system may be tuned on; 4-5 are held back for measurement and written in other sentence
# shapes (fill-in stems ending in ':', terse noun phrases, imperatives, statements with a trailing question)
# sharing no three-word sequence and no opening word with 1-3 (tests/evals/test_synth.py checks both).
# Slots in braces are filled from the question's ground truth; dates are written in the question's date style.
TUNING_WORDINGS = (1, 2, 3)
HELD_OUT_WORDINGS = (4, 5)

QUESTION_WORDINGS: dict[str, tuple[str, str, str, str, str]] = {
    "dose": (
        "What was the {word} of {drug} when it was started?",
        "What dose of {drug} was the patient started on?",
        "At the start of {drug} therapy, how much was prescribed per dose?",
        "When {drug} was first prescribed, the dose was:",
        "{drug} was initiated at what strength?",
    ),
    "drug_for": (
        "Which medication was started on {date} for {indication}?",
        "On {date}, what drug was begun for {indication}?",
        "What was newly prescribed for {indication} on {date}?",
        "Name the agent introduced {date}, indicated for {indication}.",
        "New prescription dated {date} (indication: {indication}) - drug name?",
    ),
    "imaging": (
        "Which examination showed {finding}?",
        "In which study was {finding} seen?",
        "What investigation demonstrated {finding}?",
        "{finding} was reported on:",
        "Identify the exam, with its date, documenting {finding}.",
    ),
    "adverse_event": (
        "Which adverse effect led to the {verb} {drug}?",
        "What side effect caused {drug} to be {done}?",
        "Because of which adverse reaction was {drug} {done}?",
        "{drug} was {done} on account of:",
        "Name the reaction that ended {drug} treatment.",
    ),
    "family_history": (
        "Which condition was diagnosed in the patient's {relative}?",
        "What illness has the patient's {relative} been diagnosed with?",
        "Regarding family history, what does the {relative} have?",
        "Disease affecting {poss} {relative}?",
        "State the diagnosis reported for a close relative, namely {poss} {relative}.",
    ),
    "not_given": (
        "Which of the following medications was NOT given to the patient?",
        "Which drug did the patient never receive?",
        "Which of these medicines is not documented as having been administered?",
        "All listed agents were administered except:",
        "Find the drug absent from this patient's treatment history.",
    ),
    "ruled_out": (
        "Which of the following was ruled out or documented as absent in the patient?",
        "What diagnosis was excluded during the work-up?",
        "Which finding did the investigations show the patient does not have?",
        "One of these conditions was explicitly excluded - pick it.",
        "Excluded by testing or imaging:",
    ),
    "denied": (
        "Which symptom did the patient explicitly deny at admission?",
        "At admission, what complaint was denied by the patient?",
        "Which complaint was negative in the admission history?",
        "On arrival to hospital {pron} reported no:",
        "Symptom absent per {poss} own account when admitted?",
    ),
    "ae_interval": (
        "How many days after starting {drug} did the {event} begin?",
        "How long after {drug} was begun did the {event} first appear, in days?",
        "What was the delay in days between the first dose of {drug} and the onset of {event}?",
        "Latency from {drug} initiation until {event} appeared:",
        "{event} developed how far into {drug} therapy?",
    ),
    "first_event": (
        "Which of the following happened first?",
        "What was the earliest of these events?",
        "Which event came before all the others?",
        "Chronologically, the event preceding the rest is:",
        "Pick the earliest occurrence.",
    ),
    "last_event": (
        "Which of the following happened last?",
        "What was the most recent of these events?",
        "Which event occurred after all the others?",
        "Chronologically, the final event among these is:",
        "Select the latest occurrence.",
    ),
    "order": (
        "In which order did the following occur?",
        "What is the correct chronological sequence of these events?",
        "Which sequence lists the events from earliest to latest?",
        "Arrange these happenings by date:",
        "Timeline, oldest first?",
    ),
    "lab_value": (
        "What was the patient's {lab} on {date}?",
        "What {lab} value was measured on {date}?",
        "On {date}, what was the {lab} result?",
        "The {lab} reading from {date} came to:",
        "Report the {lab} drawn {date}.",
    ),
    "lab_trend": (
        "How did the {lab} change between {d1} and {d2}?",
        "What happened to the {lab} from {d1} to {d2}?",
        "Between {d1} and {d2}, how did the {lab} values evolve?",
        "Describe the {lab} course, {d1} through {d2}.",
        "{lab}: compare the {d1} result with the {d2} result.",
    ),
    "lab_max": (
        "What was the highest {lab} value recorded?",
        "What peak {lab} did the patient reach?",
        "Across all measurements, what was the maximum {lab}?",
        "Of all {lab} results in the record, the largest was:",
        "Highest-ever {lab} reading?",
    ),
    "cycle_count": (
        "How many cycles of {regimen} did the patient receive?",
        "What number of {regimen} cycles were administered?",
        "How many times was {regimen} given in total?",
        "Total {regimen} courses delivered:",
        "Count the chemotherapy cycles ({regimen}) this patient got.",
    ),
    "ae_drug_indication": (
        "The patient developed {event} after a new medication was started. What was that medication prescribed for?",
        "A newly started drug caused {event}. Why had it been prescribed?",
        "What was the indication of the drug that led to {event}?",
        "{event} followed the introduction of a medicine; its purpose was:",
        "Reason for prescribing the agent blamed for {event}?",
    ),
    "dose_path": (
        "How did the dose of {drug} change after it was started?",
        "What happened to the {drug} dose over time?",
        "After initiation, how was {drug} dosing adjusted?",
        "Subsequent {drug} dose modification:",
        "Describe the course of {drug} dosing since its introduction.",
    ),
    "replacement": (
        "Which drug replaced the medication that caused the {event}?",
        "After the {event}, what was the offending drug switched to?",
        "What medication was substituted for the one responsible for the {event}?",
        "The culprit of {event} was exchanged for:",
        "Name the successor to the agent blamed for {event}.",
    ),
    "followup_imaging": (
        "The {first} of {d1} was followed by {an} {fu} on {d2}. What did the later study show?",
        "What did the {fu} on {d2}, done after the {first} of {d1}, show?",
        "After the {first} ({d1}), {an} {fu} was performed on {d2}. What were its findings?",
        "Result of the {d2} {fu} (prior comparison: {first}, {d1}):",
        "Summarize what repeat imaging dated {d2} ({fu}) found, relative to {first} from {d1}.",
    ),
}

# how the options of each template are written: the option type picks the formatter (below)
OPTION_TYPE = {
    "dose": "dose", "drug_for": "drug", "not_given": "drug", "replacement": "drug", "imaging": "exam",
    "adverse_event": "phrase", "family_history": "phrase", "ruled_out": "phrase", "denied": "phrase",
    "ae_drug_indication": "phrase", "followup_imaging": "phrase", "ae_interval": "days", "cycle_count": "count",
    "first_event": "event", "last_event": "event", "order": "order", "lab_value": "lab", "lab_max": "lab",
    "lab_trend": "trend", "dose_path": "dose_path",
}
OPTION_FORMATS = {
    "dose": ("plain", "units_spelled", "with_frequency_abbreviated", "drug_dose_frequency", "sentence"),
    "drug": ("plain", "capitalized", "treatment_with", "sentence"),
    "exam": ("exam_on_date", "date_first", "date_in_brackets", "sentence"),
    "phrase": ("plain", "capitalized", "abbreviated", "sentence"),
    "days": ("plain", "number_only", "number_word", "abbreviated", "sentence"),
    "count": ("plain", "with_cycles", "number_word", "regimen_times", "sentence"),
    "event": ("plain", "capitalized", "verb_phrase", "noun_phrase", "sentence"),
    "order": ("then", "arrows", "numbered", "first_then_finally", "before"),
    "lab": ("plain", "value_only", "abbreviation_value", "sentence", "value_and_date"),
    "trend": ("plain", "rose_fell", "arrow", "sentence", "abbreviated"),
    "dose_path": ("plain", "arrow", "units_spelled", "sentence", "abbreviated"),
}
# sentence-style options restate the question's entity; {x} is the canonical option
OPTION_SENTENCES = {
    "drug_for": "{X} was begun on {date}.", "not_given": "{X} was never given.", "replacement": "It was replaced by {x}.",
    "adverse_event": "Because of {x}.", "family_history": "The {relative} had {x}.", "ruled_out": "{X} was excluded.",
    "denied": "The patient denied {x}.", "ae_drug_indication": "It was prescribed for {x}.",
    "followup_imaging": "The later study showed {x}.",
}
DATE_STYLES = 5  # fmt_date's four styles, then 4: the question style (qdate)
QUESTION_DATE_STYLE = 4

# the generator's own vocabulary for the 'abbreviated' option formats
PHRASE_ABBREVIATIONS = {
    "type 2 diabetes mellitus": "T2DM", "type 1 diabetes mellitus": "T1DM", "arterial hypertension": "HTN",
    "hypercholesterolemia": "HLD", "gastroesophageal reflux disease": "GERD", "benign prostatic hyperplasia": "BPH",
    "obstructive sleep apnea": "OSA", "myocardial infarction": "MI", "multiple sclerosis": "MS",
    "systemic lupus erythematosus": "SLE", "rheumatoid arthritis": "RA", "chronic lymphocytic leukemia": "CLL",
    "abdominal aortic aneurysm": "AAA", "pulmonary embolism": "PE",
    "intracranial hemorrhage": "ICH", "urinary tract infection": "UTI", "deep vein thrombosis": "DVT",
    "left ventricular": "LV", "lymph node": "LN", "osteoarthritis": "OA",
}
FREQUENCY_ABBREVIATIONS = [
    ("up to three times daily as needed", "TID PRN"), ("three times daily", "TID"), ("twice daily", "BID"),
    ("once daily", "QD"), ("once nightly", "QHS"), ("at bedtime", "QHS"), ("three times weekly", "3x/week"),
    ("once weekly", "weekly"), ("subcutaneously", "SC"), ("inhaled", "inh."),
    ("IV once", "IV x1"), ("for 5 days", "x 5 d"), ("for 7 days", "x 7 d"),
]
UNIT_WORDS = [(r"(?<![\w/])mg/m2\b", "milligrams per square metre"), (r"(?<![\w/])mg/kg\b", "milligrams per kilogram"),
              (r"(?<![\w/])mcg\b", "micrograms"), (r"(?<![\w/])mg\b", "milligrams"), (r"(?<![\w/])g\b", "grams"),
              (r"(?<![\w/])mL\b", "millilitres")]
_QDATE = re.compile(r"(?P<date>(?:%s) \d{1,2}, \d{4})" % "|".join(MONTHS))
_EVENT = [(re.compile(r"^the start of (.+)$"), ("the start of {0}", "Start of {0}", "{0} initiated", "initiation of {0}",
                                                "{0} was started.")),
          (re.compile(r"^the onset of (.+)$"), ("the onset of {0}", "Onset of {0}", "{0} began", "first signs of {0}",
                                                "The {0} began.")),
          (re.compile(r"^the dose change of (.+)$"), ("the dose change of {0}", "Dose change of {0}", "{0} dose adjusted",
                                                      "adjustment of the {0} dose", "The {0} dose was changed.")),
          (re.compile(r"^the (.+)$"), ("the {0}", "{0}", "{0} performed", "the {0}", "The {0} was done."))]
_TREND = re.compile(r"^(Increased|Decreased|Reduced) from (.+) to (.+)$")
_STABLE = re.compile(r"^(?:Remained stable at about|Unchanged at) (.+)$")
_STOPPED = re.compile(r"^Stopped after starting at (.+)$")


def lead_cap(s: str) -> str:
    """Capitalize a phrase that starts a sentence, leaving mixed-case abbreviations (eGFR, pCO2) alone."""
    return cap(s) if s[:2].islower() else s


def write_date(d: dt.date, style: int) -> str:
    return qdate(d) if style == QUESTION_DATE_STYLE else fmt_date(d, style)


def _abbreviate(text: str, pairs) -> str:
    for long, short in sorted(pairs, key=lambda p: -len(p[0])):
        text = re.sub(rf"(?<!\w){re.escape(long)}(?!\w)", short, text, flags=re.I)
    return text


def _spell_units(text: str) -> str:
    for pat, word in UNIT_WORDS:
        text = re.sub(pat, word, text)
    return text


TEENS = ["thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def _number_word(n: int) -> str:
    """0-99 in words ('twenty-one'), so every option of a question is spelled alike."""
    if 0 <= n < len(NUM_WORDS):
        return NUM_WORDS[n]
    if n < 20:
        return TEENS[n - 13]
    if n < 100:
        return TENS[n // 10 - 2] + (f"-{NUM_WORDS[n % 10]}" if n % 10 else "")
    return str(n)


def _days(n: int, unit: str = "day") -> str:
    return f"{n} {unit}{'' if n == 1 else 's'}"


def _event(text: str, style: int) -> str:
    for pat, forms in _EVENT:
        m = pat.match(text)
        if m:
            return forms[style].format(m.group(1))
    return text


def option_formats(template: str) -> tuple[str, ...]:
    """The formats a template's options may be drawn in (a lab maximum has no single date to restate)."""
    return tuple(f for f in OPTION_FORMATS[OPTION_TYPE[template]] if not (template == "lab_max" and f == "value_and_date"))


def format_option(template: str, text: str, fmt: str, ctx: dict[str, Any]) -> str:
    """One option written in option format ``fmt``; the value it names (dose, date, count, drug, finding) is the same.

    ``ctx`` holds the question's slots (drug, lab, regimen, frequency ...) and ``date_style``.
    """
    ds = ctx["date_style"]
    kind = OPTION_TYPE[template]
    if kind == "dose":
        if fmt == "units_spelled":
            return _spell_units(text)
        if fmt == "with_frequency_abbreviated":
            return f"{text} {_abbreviate(ctx['freq'], FREQUENCY_ABBREVIATIONS)}"
        if fmt == "drug_dose_frequency":
            return f"{lead_cap(ctx['drug'])} {text} {ctx['freq']}"
        if fmt == "sentence":
            return f"The starting dose was {text}."
        return text
    if kind == "drug":
        if fmt == "capitalized":
            return lead_cap(text)
        if fmt == "treatment_with":
            return f"treatment with {text}"
        if fmt == "sentence":
            return OPTION_SENTENCES[template].format(x=text, X=lead_cap(text), date=write_date(ctx["date"], ds)
                                                     if "date" in ctx else "")
        return text
    if kind == "exam":
        m = re.match(r"^(.*) on (%s)$" % _QDATE.pattern, text)
        exam, date = m.group(1), write_date(dt.datetime.strptime(m.group("date"), "%B %d, %Y").date(), ds)
        return {"date_first": f"{date}: {exam}", "date_in_brackets": f"{lead_cap(exam)} ({date})",
                "sentence": f"The {exam} performed on {date}."}.get(fmt, f"{exam} on {date}")
    if kind == "phrase":
        if fmt == "capitalized":
            return lead_cap(text)
        if fmt == "abbreviated":
            return _abbreviate(text, PHRASE_ABBREVIATIONS.items())
        if fmt == "sentence":
            return OPTION_SENTENCES[template].format(x=text, X=lead_cap(text), relative=ctx.get("relative", ""))
        return text
    if kind in ("days", "count"):
        n = int(text.split()[0])
        if kind == "days":
            return {"number_only": str(n), "number_word": _days(n).replace(str(n), _number_word(n), 1),
                    "abbreviated": f"{n} d", "sentence": f"{lead_cap(ctx['event'])} began {_days(n)} after {ctx['drug']} "
                    "was started."}.get(fmt, text)
        word = f"cycle{'' if n == 1 else 's'}"
        return {"with_cycles": f"{n} {word}", "number_word": _number_word(n), "regimen_times": f"{ctx['regimen']} x {n}",
                "sentence": f"{lead_cap(_number_word(n))} {word} of {ctx['regimen']}."}.get(fmt, text)
    if kind == "event":
        style = OPTION_FORMATS["event"].index(fmt)
        return lead_cap(_event(text, style)) if style else text
    if kind == "order":
        parts = text.split(", then ")
        parts = [parts[0][:1].lower() + parts[0][1:]] + parts[1:]
        if fmt == "arrows":
            return " -> ".join(_event(p, 1) for p in parts)
        if fmt == "numbered":
            return " ".join(f"{i + 1}) {_event(p, 3)};" for i, p in enumerate(parts)).rstrip(";")
        if fmt == "first_then_finally":
            a, *mid, z = [_event(p, 2) for p in parts]
            return f"First {a}, then {', then '.join(mid)}, finally {z}"
        if fmt == "before":
            return lead_cap(" before ".join(parts))
        return text
    if kind == "lab":
        value, unit = text.split(" ", 1)
        if fmt == "value_only":
            return value
        if fmt == "abbreviation_value":
            return f"{ctx['lab_abbr']} {text}"
        if fmt == "sentence":
            return f"The {ctx['lab']} was {text}."
        if fmt == "value_and_date":
            return f"{text} on {write_date(ctx['date'], ds)}"
        return text
    if kind in ("trend", "dose_path"):
        if fmt == "units_spelled":
            return _spell_units(text)
        m, s, st = _TREND.match(text), _STABLE.match(text), _STOPPED.match(text)
        up = bool(m) and m.group(1) == "Increased"
        what = ctx.get("lab") or f"{ctx['drug']} dose"
        if fmt == "rose_fell":
            return (f"{'Rose' if up else 'Fell'} from {m.group(2)} to {m.group(3)}" if m else f"Stayed around {s.group(1)}")
        if fmt == "arrow":
            if m:
                return f"{m.group(2)} -> {m.group(3)}"
            return f"{s.group(1)} throughout" if s else f"{st.group(1)}, then discontinued"
        if fmt == "sentence":
            if m:
                return f"The {what} went {'up' if up else 'down'} from {m.group(2)} to {m.group(3)}."
            if s:
                return f"The {what} stayed at roughly {s.group(1)}."
            return f"{lead_cap(ctx['drug'])} was stopped after starting at {st.group(1)}."
        if fmt == "abbreviated":
            if m:
                return f"{'up' if up else 'down'}: {m.group(2)} to {m.group(3)}"
            return f"no change (~{s.group(1)})" if s else f"d/c after {st.group(1)}"
        return text
    raise ValueError(f"no option formatter for template {template!r}")


# -- questions ---------------------------------------------------------------------------------------------------
class QBuilder:
    """Turns drawn questions into LongHealth-style dicts.

    ``rng`` draws the content (distractors, the correct letter); ``wording_rng``, when given, draws each question's
    wording, option format and date style on its own stream, so a set with varied wordings asks the same questions
    with the same answers and evidence as the set without (``wording_rng=None``: wording 1, canonical options).
    """

    def __init__(self, tl: dict, keys: list[str], texts: list[str], facts: dict[str, list[tuple[int, int, int, bool]]],
                 rng: random.Random, wording_rng: random.Random | None = None):
        self.tl, self.keys, self.texts, self.facts, self.rng = tl, keys, texts, facts, rng
        self.wording_rng = wording_rng
        self.questions: list[dict] = []

    def spans(self, fids: list[str]) -> list[dict] | None:
        out = []
        for fid in fids:
            optional = fid.startswith("?")  # evidence that completes the answer but may not be rendered
            fid = fid.lstrip("?")
            occ = [o for o in self.facts.get(fid, []) if o[3]] or self.facts.get(fid, [])
            if not occ:
                if optional:
                    continue
                return None
            di, s, e, _ = occ[0]
            sp = {"text": self.keys[di], "start": s, "end": e}
            if sp not in out:
                out.append(sp)
        return out

    def add(self, kind: str, template: str, slots: dict[str, Any], correct: str, distractors: list[str], fids: list[str],
            fallback: list[str] = ()) -> bool:
        seen = {correct.strip().lower()}
        opts = []
        for d in list(distractors) + list(fallback):
            k = d.strip().lower()
            if d and k not in seen:
                seen.add(k)
                opts.append(d)
            if len(opts) == 4:
                break
        if len(opts) < 4:
            return False
        spans = self.spans(fids)
        if not spans:
            return False
        pos = self.rng.randrange(5)
        options = opts[:pos] + [correct] + opts[pos:]
        formats = option_formats(template)
        if self.wording_rng is None:
            wording, fmt, style = 1, formats[0], QUESTION_DATE_STYLE
        else:
            wording = self.wording_rng.randint(1, len(QUESTION_WORDINGS[template]))
            fmt, style = self.wording_rng.choice(formats), self.wording_rng.randrange(DATE_STYLES)
        ctx = {**slots, "date_style": style}
        shown = [format_option(template, o, fmt, ctx) for o in options]
        if len({o.strip().lower() for o in shown}) < len(shown):  # two values written alike: keep them apart
            fmt = formats[0]
            shown = [format_option(template, o, fmt, ctx) for o in options]
        written = {k: write_date(v, style) if isinstance(v, dt.date) else v for k, v in slots.items()}
        question = lead_cap(QUESTION_WORDINGS[template][wording - 1].format(**written))
        q: dict[str, Any] = {"No": len(self.questions) + 1, "question": question}
        for letter, o in zip(LETTERS, shown):
            q[f"answer_{letter}"] = o
        q["correct"] = shown[pos]
        loc: dict[str, dict[str, list[float]]] = {}
        for sp in spans:
            n = len(self.texts[self.keys.index(sp["text"])])
            ent = loc.setdefault(sp["text"], {"start": [], "end": []})
            ent["start"].append(round(sp["start"] / n, 6))
            ent["end"].append(round(sp["end"] / n, 6))
        q["answer_location"] = loc
        q["answer_spans"] = spans
        q["kind"] = kind
        q["template"] = template
        if self.wording_rng is not None:
            q["wording"] = wording
            q["option_format"] = fmt
        self.questions.append(q)
        return True


def _shuffled(rng: random.Random, xs: list) -> list:
    xs = list(xs)
    rng.shuffle(xs)
    return xs


def build_questions(tl: dict, qb: QBuilder) -> None:
    rng = qb.rng
    meds = tl["medications"]
    ae = tl["adverse_event"]
    given = [m["name"] for m in meds] + (tl["regimen"]["drugs"] if tl["regimen"] else [])
    never = [x for x in tl["never_given"] if x not in given]
    cands: dict[str, list] = {"extraction": [], "negation": [], "temporal": [], "numeric": [], "multi_document": []}
    pron, poss = ("she", "her") if tl["sex"] == "f" else ("he", "his")

    def cand(kind):
        def deco(fn):
            cands[kind].append(fn)
            return fn
        return deco

    started = [m for m in meds if m["start"] is not None and m["role"] != "regimen"]

    @cand("extraction")
    def dose_q():
        m = rng.choice([m for m in started if m["role"] in ("inpatient", "ae_drug", "titrated", "replacement")])
        pool = [c["dose"] for c in m["dose_changes"]] + _dose_variants(m["dose"], rng)
        word = "initial dose" if m["dose_changes"] else "dose"
        fid = "ae_action" if m["role"] == "replacement" else f"med_start:{m['name']}"
        return ("extraction", "dose", {"word": word, "drug": m["name"], "freq": m["freq"]}, m["dose"], pool, [fid])

    @cand("extraction")
    def drug_for_q():
        m = rng.choice([m for m in started if m["role"] in ("inpatient", "ae_drug", "titrated")])
        others = [x["name"] for x in meds if x["indication"] != m["indication"] and x["name"] != m["name"]]
        pool = _shuffled(rng, others)[:3] + never[:2]
        return ("extraction", "drug_for", {"date": m["start"], "indication": m["indication"]},
                m["name"], _shuffled(rng, pool), [f"med_start:{m['name']}"])

    @cand("extraction")
    def imaging_q():
        im = rng.choice(tl["imaging"])
        others = [f"{x['modality']} on {qdate(x['date'])}" for x in tl["imaging"] if x is not im]
        others.append(f"{im['modality']} on {qdate(im['date'] + dt.timedelta(days=rng.choice([-30, 14, 45])))}")
        extra = [f"{x} on {qdate(im['date'])}" for x in ["PET-CT", "MRI of the spine", "abdominal ultrasound", "chest X-ray",
                                                           "CT of the head"] if x.lower() not in im["modality"].lower()]
        return ("extraction", "imaging", {"finding": im["finding_short"]},
                f"{im['modality']} on {qdate(im['date'])}", _shuffled(rng, others) + _shuffled(rng, extra), [f"img:{im['short']}"])

    @cand("extraction")
    def ae_q():
        verb = "discontinuation of" if ae["action"] == "stopped" else "switch away from"
        pool = tl["denied"][:2] + [tl["presenting"][0]] + [a["ae_short"] for a in _all_ae() if a["ae_short"] != ae["event_short"]]
        done = "stopped" if ae["action"] == "stopped" else "switched to another drug"
        return ("extraction", "adverse_event", {"verb": verb, "drug": ae["drug"], "done": done}, ae["event_short"],
                _shuffled(rng, pool[:3]) + _shuffled(rng, pool[3:]), ["ae_onset", "ae_action"])

    @cand("extraction")
    def family_q():
        i = rng.randrange(2)
        fm = tl["family_history"][i]
        other = tl["family_history"][1 - i]
        pool = [other["diagnosis"]] + [c["name"] for c in tl["comorbidities"]] + [n["finding"] for n in tl["negated_findings"]]
        return ("extraction", "family_history", {"relative": fm["relative"], "poss": poss},
                fm["diagnosis"], pool, [f"fam:{i}"], [x[1] for x in FAMILY])

    @cand("negation")
    def not_given_q():
        pool = [m["name"] for m in meds if m["role"] in ("inpatient", "ae_drug", "titrated", "replacement", "home")]
        if tl["regimen"]:
            pool += tl["regimen"]["drugs"][:2]
        pool = [ae["drug"]] + _shuffled(rng, [p for p in pool if p != ae["drug"]])
        # the evidence for "X was NOT given" is the record of the drugs that were: all four distractors
        fids = [f"med_start:{ae['drug']}"] + [f"?med_start:{d}" for d in pool[1:4]]
        return ("negation", "not_given", {},
                rng.choice(never), pool[:4], fids)

    @cand("negation")
    def ruled_out_q():
        n = rng.choice(tl["negated_findings"])
        pool = [tl["imaging"][0]["finding_short"], tl["diagnosis"]] + [c["name"] for c in tl["comorbidities"]] + [ae["event_short"]]
        return ("negation", "ruled_out", {},
                n["finding"], _shuffled(rng, pool), [f"neg:{n['finding']}"])

    @cand("negation")
    def denied_q():
        sym = rng.choice(tl["denied"])
        pool = list(tl["presenting"]) + [ae["event_short"]]
        return ("negation", "denied", {"pron": pron, "poss": poss}, sym, pool,
                ["denied"])

    @cand("temporal")
    def interval_q():
        k = ae["days_after_start"]
        los = (tl["discharge"] - tl["admission"]).days
        pool = [f"{x} days" for x in _shuffled(rng, [k + 2, k - 2, k + 5, k - 4, k + 7, k * 2, los]) if x > 0 and x != k]
        return ("temporal", "ae_interval", {"drug": ae["drug"], "event": ae["event_short"]},
                f"{k} days", pool, [f"med_start:{ae['drug']}", "ae_onset"])

    events = _events(tl)

    @cand("temporal")
    def first_q():
        evs = _pick_events(events, 5, rng)
        if not evs:
            return None
        first = min(evs, key=lambda e: e[0])
        return ("temporal", "first_event", {}, first[1],
                [e[1] for e in evs if e is not first], [e[2] for e in sorted(evs)])

    @cand("temporal")
    def last_q():
        evs = _pick_events(events, 5, rng)
        if not evs:
            return None
        last = max(evs, key=lambda e: e[0])
        return ("temporal", "last_event", {}, last[1],
                [e[1] for e in evs if e is not last], [e[2] for e in sorted(evs)])

    @cand("temporal")
    def order_q():
        evs = _pick_events(events, 3, rng)
        if not evs:
            return None
        evs = sorted(evs)
        perms = [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]
        lab = lambda p: ", then ".join(cap(evs[i][1]) if j == 0 else evs[i][1] for j, i in enumerate(p))  # noqa: E731
        return ("temporal", "order", {}, lab(perms[0]),
                [lab(p) for p in _shuffled(rng, perms[1:])], [e[2] for e in evs])

    @cand("numeric")
    def lab_value_q():
        lab = rng.choice(tl["labs"])
        s = rng.choice(lab["series"])
        u = lab["unit"]
        others = [f"{x['value']} {u}" for x in lab["series"] if x is not s]
        return ("numeric", "lab_value", {"lab": lab["name"], "lab_abbr": lab["abbr"], "date": s["date"]}, f"{s['value']} {u}",
                _shuffled(rng, others), [f"lab:{lab['name']}:{s['date'].isoformat()}"], _num_variants(s["value"], lab["decimals"], u, rng))

    @cand("numeric")
    def trend_q():
        lab = rng.choice(tl["labs"])
        a, b = lab["series"][0], lab["series"][-1]
        u = lab["unit"]
        va, vb = f"{a['value']} {u}", f"{b['value']} {u}"
        mid = lab["series"][len(lab["series"]) // 2]
        if vb == va:
            return None
        rise = b["value"] > a["value"]
        correct = f"{'Increased' if rise else 'Decreased'} from {va} to {vb}"
        pool = [f"{'Decreased' if rise else 'Increased'} from {vb} to {va}", f"Remained stable at about {va}", f"{'Increased' if rise else 'Decreased'} from {va} to {mid['value']} {u}",
                f"Remained stable at about {vb}"]
        return ("numeric", "lab_trend", {"lab": lab["name"], "d1": a["date"], "d2": b["date"]},
                correct, pool, [f"lab:{lab['name']}:{a['date'].isoformat()}", f"lab:{lab['name']}:{b['date'].isoformat()}"])

    @cand("numeric")
    def max_q():
        lab = rng.choice(tl["labs"])
        s = max(lab["series"], key=lambda x: x["value"])
        u = lab["unit"]
        others = [f"{x['value']} {u}" for x in lab["series"] if x is not s]
        return ("numeric", "lab_max", {"lab": lab["name"], "lab_abbr": lab["abbr"]}, f"{s['value']} {u}",
                _shuffled(rng, others), [f"lab:{lab['name']}:{x['date'].isoformat()}" for x in lab["series"]],
                _num_variants(s["value"], lab["decimals"], u, rng))

    if tl["regimen"]:
        @cand("numeric")
        def cycles_q():
            reg = tl["regimen"]
            n = len(reg["cycles"])
            pool = [str(x) for x in (n - 1, n + 1, n - 2, n + 2, n + 3) if x > 0]
            return ("numeric", "cycle_count", {"regimen": reg["name"]}, str(n), pool,
                    [f"cycle:{c['cycle']}" for c in reg["cycles"]])

    @cand("multi_document")
    def indication_q():
        m = next(x for x in meds if x["name"] == ae["drug"])
        others = [x["indication"] for x in meds if x["indication"] and x["indication"] != m["indication"]]
        return ("multi_document", "ae_drug_indication", {"event": ae["event_short"]},
                m["indication"], _shuffled(rng, others), [f"med_start:{ae['drug']}", "ae_onset"])

    tits = [m for m in meds if m["dose_changes"]]
    if tits:
        @cand("multi_document")
        def dose_path_q():
            m = tits[0]
            c = m["dose_changes"][0]
            a, b = m["dose"], c["dose"]
            up = c["verb"] == "increased"
            num = lambda x: float(re.match(r"[\d.]+", x).group(0))  # noqa: E731
            other = [x for x in _dose_variants(b, rng) if (num(x) > num(a) if up else num(x) < num(a))] or [b]
            pool = [f"{'Reduced' if up else 'Increased'} from {b} to {a}", f"Unchanged at {a}",
                    f"{cap(c['verb'])} from {a} to {other[0]}", f"Stopped after starting at {a}", f"Unchanged at {b}"]
            return ("multi_document", "dose_path", {"drug": m["name"]},
                    f"{cap(c['verb'])} from {a} to {b}", pool,
                    [f"med_start:{m['name']}" if m["role"] != "regimen" else "reg_start", f"med_change:{m['name']}"])

    if ae["replacement"]:
        @cand("multi_document")
        def replacement_q():
            pool = [ae["drug"]] + [m["name"] for m in meds if m["name"] not in (ae["replacement"], ae["drug"])] + never
            return ("multi_document", "replacement", {"event": ae["event_short"]}, ae["replacement"],
                    [pool[0]] + _shuffled(rng, pool[1:]), ["ae_onset", "ae_action"])

    @cand("multi_document")
    def followup_q():
        fu = next(im for im in tl["imaging"] if im.get("followup"))
        first = tl["imaging"][tl["fu_compare"]]
        pool = [first["finding_short"], tl["imaging"][1 - tl["fu_compare"]]["finding_short"], f"progression of {tl['diagnosis_short']}",
                "new pleural effusion", "a new lesion suspicious for malignancy"]
        return ("multi_document", "followup_imaging",
                {"first": first["short"], "d1": first["date"], "an": an(fu["short"]), "fu": fu["short"], "d2": fu["date"]},
                fu["finding_short"], pool, [f"img:{first['short']}", f"img:{fu['short']}"])

    plan = {"extraction": rng.choice([2, 3]), "negation": 2, "temporal": rng.choice([2, 3]), "numeric": 2,
            "multi_document": rng.choice([1, 2])}
    for kind, n in plan.items():
        fns = _shuffled(rng, cands[kind])
        made = 0
        for fn in fns:
            if made >= n:
                break
            try:
                spec = fn()
            except (StopIteration, IndexError, ValueError):
                spec = None
            if spec is None:
                continue
            k, template, slots, correct, pool, fids, *fb = spec
            if qb.add(k, template, slots, correct, pool, fids, fb[0] if fb else ()):
                made += 1


def _all_ae() -> list[dict]:
    return [a for sc in SCENARIOS for a in sc["ae"]] + GENERIC_AE


def _dose_variants(dose: str, rng: random.Random) -> list[str]:
    m = re.match(r"([\d.]+)(/[\d.]+)?(.*)", dose)
    if not m:
        return []
    v = float(m.group(1))
    rest = m.group(3)
    out = []
    for f in (2, 0.5, 4, 1.5, 3, 0.25):
        x = v * f
        s = (f"{x:g}" if x != int(x) else str(int(x))) + (m.group(2) or "") + rest
        if s != dose:
            out.append(s)
    return _shuffled(rng, out)


def _num_variants(v, dec: int, unit: str, rng: random.Random) -> list[str]:
    out = []
    for f in (1.15, 0.85, 1.3, 0.7, 1.5):
        x = round(v * f, dec) if dec else int(round(v * f))
        out.append(f"{x} {unit}")
    return _shuffled(rng, out)


def _events(tl: dict) -> list[tuple[dt.date, str, str]]:
    ev = []
    for i, p in enumerate(tl["procedures"]):
        ev.append((p["date"], f"the {p['short']}", f"proc:{i}"))
    for im in tl["imaging"]:
        ev.append((im["date"], f"the {im['short']}", f"img:{im['short']}"))
    for m in tl["medications"]:
        if m["start"] is not None and m["role"] in ("inpatient", "ae_drug", "titrated", "replacement"):
            ev.append((m["start"], f"the start of {m['name']}", f"med_start:{m['name']}" if m["role"] != "replacement" else "ae_action"))
    ae = tl["adverse_event"]
    ev.append((ae["onset"], f"the onset of {ae['event_short']}", "ae_onset"))
    for m in tl["medications"]:
        for c in m["dose_changes"]:
            ev.append((c["date"], f"the dose change of {m['name']}", f"med_change:{m['name']}"))
    return ev


def _pick_events(events, k, rng):
    by_date: dict[dt.date, list] = {}
    for e in events:
        by_date.setdefault(e[0], []).append(e)
    if len(by_date) < k:
        return None
    dates = rng.sample(sorted(by_date), k)
    return [rng.choice(by_date[d]) for d in dates]


# -- assembly -------------------------------------------------------------------------------------------------
def _words(texts: list[str]) -> int:
    return sum(len(t.split()) for t in texts)


def _jsonable(x):
    if isinstance(x, dt.date):
        return x.isoformat()
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    return x


def make_patient(seed: int, index: int, pid: str, wordings: bool = False) -> dict:
    rng = random.Random(f"clinqa-synth:{seed}:{index}")
    tl = draw_timeline(rng, pid)
    verbosity = 1.5
    for attempt in range(6):
        rr = random.Random(f"clinqa-synth-render:{seed}:{index}:{attempt}")
        ren = Renderer(tl, rr, verbosity)
        docs = ren.render()
        extra_day = 1
        while _words([d.text for d in docs]) < MIN_WORDS + 100 and len(docs) < MAX_NOTES:
            ren.nursing(tl["admission"] + dt.timedelta(days=min(extra_day, (tl["discharge"] - tl["admission"]).days)))
            extra_day += 1
        words = _words([d.text for d in docs])
        if MIN_WORDS <= words <= MAX_WORDS and MIN_NOTES <= len(docs) <= MAX_NOTES:
            break
        verbosity *= 0.8 if words > MAX_WORDS else 1.3
    order = sorted(range(len(docs)), key=lambda i: (docs[i].date, i))
    docs = [docs[i] for i in order]
    keys = [f"text_{i}" for i in range(len(docs))]
    texts = [d.text for d in docs]
    facts: dict[str, list[tuple[int, int, int, bool]]] = {}
    for di, doc in enumerate(docs):
        for fid, s, e, prim in doc.facts:
            facts.setdefault(fid, []).append((di, s, e, prim))
    qb = QBuilder(tl, keys, texts, facts, random.Random(f"clinqa-synth-q:{seed}:{index}"),
                  random.Random(f"clinqa-synth-wording:{seed}:{index}") if wordings else None)
    build_questions(tl, qb)
    gt = {k: v for k, v in tl.items() if k not in ("params", "never_given", "name", "birthday")}
    gt["never_given"] = [x for x in tl["never_given"]]
    return {
        "name": tl["name"],
        "birthday": tl["birthday"].isoformat(),
        "diagnosis": tl["diagnosis"],
        "texts": dict(zip(keys, texts)),
        "text_dates": {k: d.date.isoformat() for k, d in zip(keys, docs)},
        "text_types": {k: d.kind for k, d in zip(keys, docs)},
        "questions": qb.questions,
        "ground_truth": _jsonable(gt),
    }


def generate(n_patients: int, seed: int = 0, wordings: bool = False) -> dict:
    """A LongHealth-style set of ``n_patients`` synthetic patients, deterministic by ``seed``.

    ``wordings=True``: each question is asked in one of its template's five wordings, with its options in one of
    several formats (field ``wording`` 1-5, ``option_format``); patients, answers and evidence are those of the
    set without it.
    """
    width = max(2, len(str(n_patients)))
    out = {}
    for i in range(n_patients):
        pid = f"patient_{i + 1:0{width}d}"
        out[pid] = make_patient(seed, i, pid, wordings)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.synth", description=__doc__.split("\n\n")[0])
    ap.add_argument("--patients", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("synth.json"))
    ap.add_argument("--wordings", action="store_true",
                    help="varied question wordings (1-3 for tuning, 4-5 held back) and option formats")
    args = ap.parse_args(argv)
    data = generate(args.patients, args.seed, args.wordings)
    args.out.write_text(json.dumps(data, indent=1))
    n_q = sum(len(p["questions"]) for p in data.values())
    print(f"wrote {args.out}: {len(data)} patients, {n_q} questions", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
