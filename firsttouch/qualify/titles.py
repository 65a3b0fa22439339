"""Read a job title into a seniority and a function.

Titles arrive in every form: ``SVP, Global Sales``, ``Dir. Mktg``,
``Geschäftsführer``, ``Directeur administratif et financier``. The title is
folded to plain lower-case ASCII, abbreviations are spelt out, and ordered
patterns decide:

* seniority: the first level whose pattern matches, checked from the
  most specific (``vice president`` before ``president``, ``managing
  director`` before ``director``);
* function: the pattern that matches earliest in the title, so
  ``VP Sales & Marketing`` is sales. A C-level acronym names its own
  function (CFO is finance); a chief executive, founder or owner is
  ``executive``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

Seniority = str  # c_level | vp | director | manager | individual | student

# Abbreviations spelt out before matching; keys are whole words.
ABBREVIATIONS = {
    "sr": "senior",
    "snr": "senior",
    "jr": "junior",
    "dir": "director",
    "mgr": "manager",
    "mngr": "manager",
    "mktg": "marketing",
    "mkt": "marketing",
    "eng": "engineering",
    "engr": "engineer",
    "acct": "account",
    "exec": "executive",
    "hd": "head",
    "asst": "assistant",
    "assoc": "associate",
    "admin": "administrator",
    "ops": "operations",
    "fin": "finance",
    "bizdev": "business development",
    "biz": "business",
    "dev": "development",
    "sw": "software",
    "tech": "technology",
    "hr": "human resources",
    "rrhh": "recursos humanos",
    "drh": "directeur ressources humaines",
    "svp": "vice president",
    "evp": "vice president",
    "avp": "vice president",
    "vp": "vice president",
    "gf": "geschaftsfuhrer",
    "pdg": "chief executive",
    "dg": "directeur general",
    "daf": "directeur financier",
    "md": "managing director",
    "gm": "general manager",
    "ae": "account executive",
    "sdr": "sales development",
    "bdr": "business development",
    "ciso": "chief information security officer",
}

# Spelt-out chief titles read as their acronym, so the acronym decides function.
CHIEF_TITLES = {
    "chief executive officer": "ceo",
    "chief executive": "ceo",
    "chief financial officer": "cfo",
    "chief finance officer": "cfo",
    "chief operating officer": "coo",
    "chief operations officer": "coo",
    "chief technology officer": "cto",
    "chief technical officer": "cto",
    "chief information officer": "cio",
    "chief marketing officer": "cmo",
    "chief revenue officer": "cro",
    "chief sales officer": "cso",
    "chief commercial officer": "cco",
    "chief people officer": "chro",
    "chief human resources officer": "chro",
    "chief product officer": "cpo",
    "chief data officer": "cdo",
}

C_LEVEL_FUNCTIONS = {
    "ceo": "executive",
    "cfo": "finance",
    "coo": "operations",
    "cto": "engineering",
    "cio": "it",
    "cmo": "marketing",
    "cro": "sales",
    "cso": "sales",
    "chro": "hr",
    "cpo": "product",
    "cdo": "data",
    "cco": "sales",
}

_SENIORITY_PATTERNS: list[tuple[Seniority, str]] = [
    (
        "student",
        r"student|studentin|estudiante|etudiant|etudiante|studente|"
        r"intern|internship|stagiaire|praktikant|praktikantin|werkstudent|"
        r"apprentice|azubi|auszubildender|trainee|becario|becaria|"
        r"tirocinante|estagiario|estagiaria|stagair|phd candidate|"
        r"graduate assistant|graduate student|undergraduate|alumno|alumna|"
        r"aluno|aluna|schuler\w*",
    ),
    (
        "vp",
        r"vice president|vicepresident|vizeprasident\w*|vice presidente?|"
        r"vicepresidente|vice president\w*|vp",
    ),
    (
        "c_level",
        r"chief \w+( \w+)? officer|chief executive|ceo|cfo|coo|cto|cio|"
        r"cmo|cro|cso|chro|cpo|cdo|cco|president|presidente|founder|"
        r"cofounder|co founder|fondateur|fondatrice|grunder\w*|fundador\w*|"
        r"owner|inhaber\w*|proprietor|proprietaire|propietari\w*|"
        r"managing director|managing partner|geschaftsfuhrer\w*|"
        r"vorstand\w*|directeur general|directrice generale|"
        r"director general|directora general|director ejecutivo|"
        r"directora ejecutiva|diretor executivo|diretora executiva|"
        r"amministratore delegato|consejero delegado|gerente general|"
        r"algemeen directeur|general manager|managing partner|"
        r"founding partner|senior partner|equity partner|"
        r"executive director|prokurist\w*",
    ),
    (
        "director",
        r"director\w*|directeur|directrice|diretor\w*|direttore|"
        r"direttrice|directora|head|heads|(?!team|gruppen)\w*leiter\w*|hoofd|"
        r"jefe de departamento|jefa de departamento|country manager",
    ),
    (
        "manager",
        r"manager\w*|managerin|lead|leader|team lead|teamleiter\w*|"
        r"supervisor|gerente|jefe|jefa|responsable|chef de \w+|"
        r"encargad[oa]|coordinador[a]?|superintendent|foreman|"
        r"capo|gestor[a]?|\w*leider|afdelingshoofd|responsabile|"
        r"gruppenleiter\w*",
    ),
]

# Roles that say "manager" but carry no reports in the usual sales org.
_INDIVIDUAL_OVERRIDES = re.compile(
    r"\b(key )?account manager\b|\baccount executive\b|\bsales development\b|"
    r"\bbusiness development (rep|representative)\b|\bcommunity manager\b|"
    r"\bsocial media manager\b"
)

_FUNCTION_PATTERNS: list[tuple[str, str]] = [
    (
        "sales",
        r"sales|selling|account executive|account manager|account "
        r"management|key account|business development|sales development|"
        r"revenue|vertrieb\w*|verkauf\w*|ventas|vendas|ventes|commercial|"
        r"commerciale|comercial|verkoop\w*|vendite|channel|partnerships|"
        r"inside sales",
    ),
    (
        "marketing",
        r"marketing\w*|growth|demand gen\w*|demand generation|brand|"
        r"content|seo|sem|communications|pr|public relations|"
        r"mercadeo|communication|kommunikation|comunicacion|"
        r"social media|community",
    ),
    (
        "finance",
        r"finance|financial|financier|financiere|finanzen|finanz\w*|"
        r"financier[oa]|financeir[oa]|"
        r"finanzas|financas|finanza|financien|cfo|controller|"
        r"comptroller|controlling|accounting|accountant|accounts "
        r"payable|accounts receivable|ap|ar|payables|receivables|"
        r"treasury|treasurer|fp&a|fp and a|tax|bookkeeper|bookkeeping|"
        r"buchhaltung|buchhalter\w*|contable|contabilidad|contador\w*|"
        r"comptable|comptabilite|contabile|contabilita|boekhouder|"
        r"billing|payroll|audit|auditor|credit|invoice|invoicing",
    ),
    (
        "hr",
        r"human resources|people|talent|recruit\w*|chro|personal\w*|"
        r"personnel|recursos humanos|ressources humaines|risorse umane|"
        r"hr business partner|learning and development",
    ),
    (
        "engineering",
        r"engineer\w*|software|developer|development engineer|"
        r"technology lead|\w*entwickler\w*|"
        r"programmer|devops|sre|architect|cto|r&d|research and "
        r"development|qa|quality assurance|entwickl\w*|"
        r"ingenieur\w*|ingeniero|ingeniera|ingegnere|desarrollador\w*|"
        r"programador\w*|full stack|frontend|backend|firmware",
    ),
    (
        "it",
        r"it|information technology|information systems|cio|system "
        r"administrator|systems administrator|sysadmin|infrastructure|"
        r"helpdesk|help desk|network|security|informatique|informatica|"
        r"informatik|edv|technology|technical support|erp",
    ),
    (
        "data",
        r"data|analytics|business intelligence|bi|machine learning|"
        r"statistician",
    ),
    (
        "operations",
        r"operations|operational|coo|supply chain|logistics|"
        r"logistik|logistica|procurement|purchasing|buyer|einkauf\w*|"
        r"compras|achats|acquisti|facilities|betrieb\w*|operaciones|"
        r"operations?|operacoes|exploitation|fulfilment|fulfillment|"
        r"warehouse|production|plant|manufacturing|office manager",
    ),
    ("product", r"product|produkt\w*|producto|produit|prodotto"),
    (
        "customer_success",
        r"customer success|customer experience|customer "
        r"service|client services|support|kundenservice|"
        r"service client|atencion al cliente|onboarding",
    ),
    (
        "legal",
        r"legal|counsel|lawyer|attorney|jurist\w*|avocat|abogad[oa]|"
        r"avvocato|solicitor|paralegal|compliance|notary",
    ),
    (
        "education",
        r"teacher|professor|lecturer|tutor|docent|lehrer\w*|"
        r"profesor[a]?|enseignant|insegnante|principal of|dean",
    ),
    (
        "executive",
        r"chief executive|ceo|founder|cofounder|co founder|fondateur|"
        r"fondatrice|grunder\w*|fundador\w*|owner|inhaber\w*|"
        r"proprietor|proprietaire|propietari\w*|(?<!vice )president|"
        r"(?<!vice )presidente|managing director|managing partner|"
        r"geschaftsfuhrer\w*|directeur general|directrice generale|"
        r"director general|directora general|director ejecutivo|"
        r"directora ejecutiva|diretor executivo|amministratore "
        r"delegato|consejero delegado|gerente general|algemeen "
        r"directeur|general manager|managing partner|founding "
        r"partner|senior partner|equity partner|executive director",
    ),
]


def _compile(alternatives: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w&])(?:{alternatives})(?![\w&])")


_SENIORITY = [(level, _compile(p)) for level, p in _SENIORITY_PATTERNS]
_FUNCTIONS = [(name, _compile(p)) for name, p in _FUNCTION_PATTERNS]
_C_LEVEL = _compile("|".join(C_LEVEL_FUNCTIONS))
_CHIEF = _compile("|".join(sorted(CHIEF_TITLES, key=len, reverse=True)))
_WORD = re.compile(r"[a-z0-9&]+")
_JOB_SEEKER = _compile(
    r"job seeker|jobseeker|looking for|seeking|unemployed|open to work|"
    r"between jobs|career change|arbeitssuchend\w*|arbeitslos\w*|"
    r"en recherche d emploi|demandeur d emploi|buscando empleo|desempleado|"
    r"desempregado|disoccupato|werkzoekende"
)


@dataclass(frozen=True)
class TitleParse:
    seniority: Seniority | None
    function: str | None
    job_seeker: bool = False


def fold(text: str) -> str:
    """Lower-case ASCII with accents dropped and abbreviations spelt out."""
    decomposed = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
    ascii_text = decomposed.encode("ascii", "ignore").decode().lower()
    # "co-founder" and "vice-president" read as two words, "r&d" stays one.
    words = _WORD.findall(ascii_text.replace("-", " ").replace("/", " "))
    folded = " ".join(ABBREVIATIONS.get(w, w) for w in words)
    return _CHIEF.sub(lambda m: CHIEF_TITLES[m.group(0)], folded)


def _seniority(folded: str) -> Seniority:
    for level, pattern in _SENIORITY:
        if pattern.search(folded):
            if level == "manager" and _INDIVIDUAL_OVERRIDES.search(folded):
                return "individual"
            return level
    return "individual"


def _function(folded: str) -> str | None:
    # A C-level acronym names the function outright (CFO -> finance).
    acronym = _C_LEVEL.search(folded)
    if acronym:
        return C_LEVEL_FUNCTIONS[acronym.group(0)]

    best: tuple[int, str] | None = None
    for name, pattern in _FUNCTIONS:
        match = pattern.search(folded)
        if match and (best is None or match.start() < best[0]):
            best = (match.start(), name)
    return best[1] if best else None


@lru_cache(maxsize=8192)
def parse_title(title: str | None) -> TitleParse:
    """Return the seniority and function a job title states (None when empty)."""
    if not title or not title.strip():
        return TitleParse(None, None)
    folded = fold(title)
    if not folded:
        return TitleParse(None, None)

    seniority = _seniority(folded)
    job_seeker = bool(_JOB_SEEKER.search(folded))
    return TitleParse(seniority, _function(folded), job_seeker)
