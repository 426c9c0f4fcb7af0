"""Languages of an evaluation: ISO 639-1 codes and names, the main language of a country or region, a word count
for every script, and the stance words the opinion parser reads in each language adaem ships templates for.

Format decisions of the localized opinion prompts (`prompts/opinion.<lang>.txt`, zh fr de es ja):

- Stance line: a native label and native stance words ("立场：是、否或中立", "Position : Oui, Non ou Neutre",
  "Haltung: Ja, Nein oder Neutral", "Postura: Sí, No o Neutral", "立場：はい、いいえ、または中立"): a faithful
  translation, and an English line inside a prompt in another language pulls the whole answer towards English.
  Every native label is in `STANCE_LABELS` and every stance word in `STANCE_WORDS`; an answer that keeps the
  English "Stance:" still parses. Languages without a template get the English prompt plus `opinion_language`,
  which asks for the points in the language and the stance line in English as shown.
- Points: numbered "1. " with an ASCII digit, full stop and space (what measure's item pattern needs) in every
  language. The colon between key point and justification is ASCII ":" in fr / de / es (French puts a space before
  it: "point clé : justification") and the full-width "：" (U+FF1A) in zh and ja, as their typography has it.
  The parser takes either colon after either language.
- Length: the zh and ja templates ask for characters, `$chars`, not words: the caller passes chars = 2 × words
  (`CHARS_PER_WORD`). `count_words` counts each CJK character as half a word, so an answer at the character limit
  counts as many words as the English limit allows.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import cache
from importlib import resources
from typing import Any

from .errors import ConfigError

# ISO 639-1, every current code (the collective "bh" withdrawn), with the usual English name.
LANGUAGE_NAMES: dict[str, str] = {
    "aa": "Afar", "ab": "Abkhazian", "ae": "Avestan", "af": "Afrikaans", "ak": "Akan", "am": "Amharic",
    "an": "Aragonese", "ar": "Arabic", "as": "Assamese", "av": "Avaric", "ay": "Aymara", "az": "Azerbaijani",
    "ba": "Bashkir", "be": "Belarusian", "bg": "Bulgarian", "bi": "Bislama", "bm": "Bambara", "bn": "Bengali",
    "bo": "Tibetan", "br": "Breton", "bs": "Bosnian", "ca": "Catalan", "ce": "Chechen", "ch": "Chamorro",
    "co": "Corsican", "cr": "Cree", "cs": "Czech", "cu": "Church Slavonic", "cv": "Chuvash", "cy": "Welsh",
    "da": "Danish", "de": "German", "dv": "Dhivehi", "dz": "Dzongkha", "ee": "Ewe", "el": "Greek", "en": "English",
    "eo": "Esperanto", "es": "Spanish", "et": "Estonian", "eu": "Basque", "fa": "Persian", "ff": "Fula",
    "fi": "Finnish", "fj": "Fijian", "fo": "Faroese", "fr": "French", "fy": "Western Frisian", "ga": "Irish",
    "gd": "Scottish Gaelic", "gl": "Galician", "gn": "Guarani", "gu": "Gujarati", "gv": "Manx", "ha": "Hausa",
    "he": "Hebrew", "hi": "Hindi", "ho": "Hiri Motu", "hr": "Croatian", "ht": "Haitian Creole", "hu": "Hungarian",
    "hy": "Armenian", "hz": "Herero", "ia": "Interlingua", "id": "Indonesian", "ie": "Interlingue", "ig": "Igbo",
    "ii": "Sichuan Yi", "ik": "Inupiaq", "io": "Ido", "is": "Icelandic", "it": "Italian", "iu": "Inuktitut",
    "ja": "Japanese", "jv": "Javanese", "ka": "Georgian", "kg": "Kongo", "ki": "Kikuyu", "kj": "Kuanyama",
    "kk": "Kazakh", "kl": "Greenlandic", "km": "Khmer", "kn": "Kannada", "ko": "Korean", "kr": "Kanuri",
    "ks": "Kashmiri", "ku": "Kurdish", "kv": "Komi", "kw": "Cornish", "ky": "Kyrgyz", "la": "Latin",
    "lb": "Luxembourgish", "lg": "Ganda", "li": "Limburgish", "ln": "Lingala", "lo": "Lao", "lt": "Lithuanian",
    "lu": "Luba-Katanga", "lv": "Latvian", "mg": "Malagasy", "mh": "Marshallese", "mi": "Maori", "mk": "Macedonian",
    "ml": "Malayalam", "mn": "Mongolian", "mr": "Marathi", "ms": "Malay", "mt": "Maltese", "my": "Burmese",
    "na": "Nauruan", "nb": "Norwegian Bokmål", "nd": "North Ndebele", "ne": "Nepali", "ng": "Ndonga", "nl": "Dutch",
    "nn": "Norwegian Nynorsk", "no": "Norwegian", "nr": "South Ndebele", "nv": "Navajo", "ny": "Chichewa",
    "oc": "Occitan", "oj": "Ojibwe", "om": "Oromo", "or": "Odia", "os": "Ossetian", "pa": "Punjabi", "pi": "Pali",
    "pl": "Polish", "ps": "Pashto", "pt": "Portuguese", "qu": "Quechua", "rm": "Romansh", "rn": "Kirundi",
    "ro": "Romanian", "ru": "Russian", "rw": "Kinyarwanda", "sa": "Sanskrit", "sc": "Sardinian", "sd": "Sindhi",
    "se": "Northern Sami", "sg": "Sango", "si": "Sinhala", "sk": "Slovak", "sl": "Slovenian", "sm": "Samoan",
    "sn": "Shona", "so": "Somali", "sq": "Albanian", "sr": "Serbian", "ss": "Swati", "st": "Sesotho",
    "su": "Sundanese", "sv": "Swedish", "sw": "Swahili", "ta": "Tamil", "te": "Telugu", "tg": "Tajik", "th": "Thai",
    "ti": "Tigrinya", "tk": "Turkmen", "tl": "Tagalog", "tn": "Tswana", "to": "Tongan", "tr": "Turkish",
    "ts": "Tsonga", "tt": "Tatar", "tw": "Twi", "ty": "Tahitian", "ug": "Uyghur", "uk": "Ukrainian", "ur": "Urdu",
    "uz": "Uzbek", "ve": "Venda", "vi": "Vietnamese", "vo": "Volapük", "wa": "Walloon", "wo": "Wolof",
    "xh": "Xhosa", "yi": "Yiddish", "yo": "Yoruba", "za": "Zhuang", "zh": "Chinese", "zu": "Zulu",
}

# Codes taken for another: Filipino's ISO 639-2/3 code (ISO 639-1 has only Tagalog) and withdrawn 639-1 codes.
LANGUAGE_ALIASES: dict[str, str] = {"fil": "tl", "iw": "he", "in": "id", "ji": "yi", "jw": "jv", "mo": "ro"}

# The name a prompt gives the language where the bare name leaves the script open: adaem's zh templates are Simplified.
_PROMPT_NAMES = {"zh": "Simplified Chinese"}

_COMMON = ("en", "zh", "es", "hi", "ar", "fr", "pt", "ru", "de", "ja", "ko")
_THREE_LETTER = {"eng": "en", "zho": "zh", "chi": "zh", "cmn": "zh", "fra": "fr", "fre": "fr", "deu": "de",
                 "ger": "de", "spa": "es", "jpn": "ja", "kor": "ko", "rus": "ru", "ara": "ar", "por": "pt",
                 "ita": "it", "hin": "hi", "ben": "bn", "urd": "ur", "tur": "tr", "vie": "vi", "ind": "id",
                 "swa": "sw", "nld": "nl", "dut": "nl", "pol": "pl", "ukr": "uk", "per": "fa", "fas": "fa"}


class UnknownLanguageError(ConfigError, ValueError):
    """A language that is not an ISO 639-1 code adaem knows. A ValueError too, so a config validator reports it."""


CHARS_PER_WORD = 2  # the character limit of the zh / ja templates per word of the English one ($chars = 2 × $words)
_CJK = frozenset({"zh", "ja", "ko"})


def _suggestion(raw: str) -> str:
    lowered = raw.strip().lower()
    by_name = {name.lower(): code for code, name in LANGUAGE_NAMES.items()}
    primary = re.split(r"[-_]", lowered, maxsplit=1)[0]
    code = (by_name.get(lowered) or _THREE_LETTER.get(lowered)
            or (primary if primary != lowered and (primary in LANGUAGE_NAMES or primary in LANGUAGE_ALIASES) else None))
    if code is None:
        return ""
    code = LANGUAGE_ALIASES.get(code, code)
    return f"; did you mean '{code}' ({LANGUAGE_NAMES[code]})?"


def check_language(code: str) -> str:
    """`code` as adaem keeps it: a lower-case ISO 639-1 code ("ZH" -> "zh", "fil" -> "tl"). UnknownLanguageError
    (a ConfigError) for anything else, with the code meant where it can tell ("Chinese", "zh-CN", "zho" -> 'zh'):
    region and script subtags are refused rather than dropped, since adaem has one template per language."""
    if not isinstance(code, str):
        raise UnknownLanguageError(f"a language is an ISO 639-1 code such as 'en' or 'zh', not {code!r}")
    lowered = code.strip().lower()
    lowered = LANGUAGE_ALIASES.get(lowered, lowered)
    if lowered in LANGUAGE_NAMES:
        return lowered
    raise UnknownLanguageError(
        f"unknown language {code!r}: give an ISO 639-1 code such as {', '.join(_COMMON)} "
        f"({len(LANGUAGE_NAMES)} known, see adaem.languages.LANGUAGE_NAMES){_suggestion(code)}")


def language_name(code: str) -> str:
    """The English name of a language ("zh" -> "Chinese"); UnknownLanguageError (a ConfigError) for an unknown code."""
    return LANGUAGE_NAMES[check_language(code)]


def prompt_name(code: str) -> str:
    """The name to write in a prompt that asks for text in the language: the English name, but "Simplified Chinese"
    for zh, so a translation or an answer matches the script of adaem's zh templates."""
    code = check_language(code)
    return _PROMPT_NAMES.get(code, LANGUAGE_NAMES[code])


def is_cjk(code: str) -> bool:
    """Chinese, Japanese or Korean: scripts whose words `count_words` counts by character (half a word each)."""
    return check_language(code) in _CJK


# -- countries ------------------------------------------------------------------------------------------------
def _place_key(name: str) -> str:
    """Case-, accent- and punctuation-insensitive form of a place name, without a leading 'the'."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower().replace("&", " and ")
    text = re.sub(r"['’.]", "", text)
    text = " ".join(re.sub(r"[^\w]+", " ", text).split())
    return text.removeprefix("the ")


@cache
def country_languages() -> dict[str, str | None]:
    """The shipped table (data/country_languages.json) keyed by normalised place name. Its "_rule" says how a
    language was chosen, its "_notes" why, for the non-obvious ones."""
    raw = json.loads(resources.files("adaem").joinpath("data/country_languages.json").read_text(encoding="utf-8"))
    table: dict[str, str | None] = {}
    for name, code in raw.items():
        if name.startswith("_"):
            continue
        table[_place_key(name)] = code
    return table


def country_language(country: str | None) -> str | None:
    """The main language (ISO 639-1) of a country or region as adaem's benchmarks and generators name it ("Japan" ->
    "ja", "USA" -> "en", "Latin America" -> "es"); None for no country, a group of countries without a majority
    language ("Europe", "none", "global"), or a name the table does not know."""
    if not country or not country.strip():
        return None
    return country_languages().get(_place_key(country))


@cache
def _places_pattern() -> re.Pattern[str]:
    raw = json.loads(resources.files("adaem").joinpath("data/country_languages.json").read_text(encoding="utf-8"))
    names = sorted((n for n in raw if not n.startswith("_")), key=len, reverse=True)  # "South Korea" before "Korea"
    return re.compile(r"\b(" + "|".join(re.escape(n) for n in names) + r")\b")  # as capitalised: "us" is no place


def place_in_text(text: str) -> str | None:
    """The first country or region of adaem's table that a text names ("Should France abolish ...?" -> "France"),
    as the table spells it; None when it names none. For questions whose generator was not asked for the place
    (the paper's prompts), so the benchmark's breakdown by country still has one."""
    match = _places_pattern().search(text)
    return None if match is None else match.group(1)


def known_place(country: str) -> bool:
    """Whether the table names this country or region (country_language is None for unknown and language-less alike)."""
    return _place_key(country) in country_languages()


# -- counting words -------------------------------------------------------------------------------------------
# CJK ideographs (with the iteration and zero marks), kana (not the middle dot), Hangul syllables and jamo:
# half a word each. Chinese words average about two characters, Japanese ones more with kana; a Korean space-
# separated word (eojeol) averages about three syllables carrying what English says in one or two words.
_CJK_CHARS = (r"\u3005\u3007\u3041-\u3096\u309d-\u309f\u30a1-\u30fa\u30fc-\u30ff\u31f0-\u31ff\u3131-\u318e"
              r"\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7a3\uf900-\ufaff\uff66-\uff9d\U00020000-\U0003134f")
# Thai, Lao, Tibetan, Myanmar and Khmer write no spaces between words either: a quarter word per letter (their
# words average about four letters; vowel signs and tone marks, which are not letters, do not count).
_SEA_CHARS = r"\u0e00-\u0e7f\u0e80-\u0eff\u0f00-\u0fff\u1000-\u109f\u1780-\u17ff\u19e0-\u19ff"
_RUNS = re.compile(rf"([{_CJK_CHARS}])|([{_SEA_CHARS}]+)|([^{_CJK_CHARS}{_SEA_CHARS}]+)")
_DENSE = re.compile(rf"[{_CJK_CHARS}{_SEA_CHARS}]")
CJK_WORDS_PER_CHAR = 0.5
SEA_WORDS_PER_LETTER = 0.25


def count_words(text: str) -> float:
    """Words in `text` in any script. Whitespace-separated tokens, as `len(text.split())`, except in scripts that
    write no spaces between words: each CJK ideograph, kana or Hangul syllable counts half a word (Chinese averages
    about two characters a word, so "中华人民共和国" is 3.5), each Thai / Lao / Tibetan / Burmese / Khmer letter a
    quarter. In a token that mixes scripts ("AI伦理"), each run of other letters or digits counts one word and
    punctuation between them ("你好，世界") none. English text counts exactly as before (a float, integral)."""
    if text.isascii():
        return float(len(text.split()))
    text = unicodedata.normalize("NFC", text)
    total = 0.0
    for token in text.split():
        if not _DENSE.search(token):
            total += 1
            continue
        for cjk, sea, other in _RUNS.findall(token):
            if cjk:
                total += CJK_WORDS_PER_CHAR
            elif sea:
                total += SEA_WORDS_PER_LETTER * sum(unicodedata.category(ch).startswith("L") for ch in sea)
            elif any(ch.isalnum() for ch in other):
                total += 1
    return total


# -- stance words ---------------------------------------------------------------------------------------------
# Words that introduce the stance line ("立场：是"), lower-cased; the opinion parser matches them at a line's start,
# case-insensitively, before ":" / "：" / "-". Those of the shipped templates first, then variants models write.
STANCE_LABELS: tuple[str, ...] = (
    "stance", "立场", "position", "haltung", "postura", "立場",                              # the templates' labels
    "my stance", "我的立场", "我的立場", "观点", "觀點", "态度", "態度", "私の立場", "意見", "見解",
    "ma position", "mon avis", "avis", "opinion", "réponse", "meine haltung", "standpunkt", "mein standpunkt",
    "meinung", "antwort", "mi postura", "posición", "posicion", "mi posición", "opinión", "respuesta",
    "posição", "posizione", "позиция", "입장", "回答", "答案", "答え",
)

# Lower-cased stance words -> stance. Words in scripts with spaces are meant to be matched as whole words in the
# lower-cased line; CJK ones (no spaces) as substrings, longer first ("不支持" before "支持"): see `stance_words_in`.
STANCE_WORDS: dict[str, str] = {
    # English
    "yes": "yes", "no": "no", "neutral": "neutral",
    # Chinese (Simplified, with the Traditional forms that differ)
    "是": "yes", "否": "no", "中立": "neutral", "支持": "yes", "反对": "no", "反對": "no", "赞成": "yes",
    "贊成": "yes", "同意": "yes", "不同意": "no", "不是": "no", "不支持": "no", "不赞成": "no", "不贊成": "no",
    "应该": "yes", "不应该": "no", "應該": "yes", "不應該": "no",
    # Japanese (longer forms win: "賛成しない" is no, not also 賛成 yes; "してはいけない" no, not the はい inside it;
    # "しなければいけない" yes)
    "はい": "yes", "いいえ": "no", "賛成": "yes", "反対": "no", "どちらでもない": "neutral",
    "賛成しない": "no", "賛成しません": "no", "賛成できない": "no", "賛成できません": "no", "賛成しかねる": "no",
    "いけない": "no", "いけません": "no", "てはいけない": "no", "てはいけません": "no", "てはならない": "no",
    "べきではない": "no", "べきでない": "no",
    "なければいけない": "yes", "なければならない": "yes",
    # French
    "oui": "yes", "non": "no", "neutre": "neutral",
    # German
    "ja": "yes", "nein": "no",
    # Spanish (and "no", "neutral" as in English)
    "sí": "yes", "neutro": "neutral", "neutra": "neutral",
    # Portuguese, Italian, Russian, Korean: answers in languages without a template that translate the line anyway
    "sim": "yes", "não": "no", "sì": "yes", "neutrale": "neutral", "да": "yes", "нет": "no",
    "нейтрально": "neutral", "нейтральная": "neutral", "찬성": "yes", "반대": "no", "중립": "neutral",
    "아니요": "no", "아니오": "no",
}

# The localized templates' placeholders, lower-cased: an answer that repeats one back is a template echo, not a point.
TEMPLATE_ECHOES: tuple[str, ...] = (
    "<要点>", "<一句话理由>", "<一文での理由>", "<point clé>", "justification en une phrase", "<kernpunkt>",
    "begründung in einem satz", "<punto clave>", "justificación en una frase",
)

# "是否" (whether) holds both 是 and 否 and is no stance.
_NOT_STANCE = ("是否",)


def _is_spaced(word: str) -> bool:
    return not _DENSE.search(word)


@cache
def _stance_pattern() -> re.Pattern[str]:
    words = sorted([*STANCE_WORDS, *_NOT_STANCE], key=len, reverse=True)
    parts = [rf"(?<!\w){re.escape(w)}(?!\w)" if _is_spaced(w) else re.escape(w) for w in words]
    return re.compile("|".join(parts))


def stance_words_in(text: str) -> set[str]:
    """The stances `text` names ("yes" / "no" / "neutral"), in any language of STANCE_WORDS: whole words in scripts
    with spaces (case-insensitive, so "Sí" and "NEIN" count), substrings in CJK, the longest word first so "不支持"
    is no and not also yes, and "是否" (whether) is nothing."""
    found = {STANCE_WORDS.get(m.group(0)) for m in _stance_pattern().finditer(text.lower())}
    return {s for s in found if s is not None}


# Where the stance itself ends: a sentence end, a full-width comma or semicolon, a bracket or a spaced dash. An ASCII
# comma does not end it, so the template's own "Yes, No or Neutral" stays ambiguous.
_STANCE_END = re.compile(r"[。．！？；，（(!?;]|\.(?:\s|$)|\s[-–—]\s|—")


# Spanish "sí" written without its accent: "si" is also "if" (Spanish, French, Italian), so it is yes only as the
# first word of the stance ("Postura: Si").
_LEADING_SI = re.compile(r"^\W*si(?!\w)", re.I)


def stance_of(value: str) -> str | None:
    """The stance of what follows a stance label: the one stance named before the first sentence end ("否，因为这是
    ..." is no, though 这是 holds 是), None when none or several are named ("Yes, No or Neutral", "是、否或中立").
    An unaccented Spanish "Si" leading the stance is yes."""
    head = _STANCE_END.split(value.strip(), maxsplit=1)[0]
    words = stance_words_in(head)
    if _LEADING_SI.match(head):
        words.add("yes")
    return words.pop() if len(words) == 1 else None


# -- untranslated text --------------------------------------------------------------------------------------------
# Languages written in a script of their own: a translation into one of them with most of its letters in another
# script (Latin, nearly always) was not translated. Unicode character names start with the script's name.
_SCRIPTS: dict[str, tuple[str, ...]] = {
    "zh": ("CJK",), "ja": ("CJK", "HIRAGANA", "KATAKANA"), "ko": ("HANGUL", "CJK"), "el": ("GREEK",),
    **dict.fromkeys(("ru", "uk", "bg", "sr", "mk", "be", "kk", "ky", "mn", "tg", "tt", "ba", "cv", "ce", "os", "kv",
                     "av"), ("CYRILLIC",)),
    **dict.fromkeys(("ar", "fa", "ur", "ps", "ug", "sd"), ("ARABIC",)),
    **dict.fromkeys(("hi", "mr", "ne", "sa"), ("DEVANAGARI",)), **dict.fromkeys(("he", "yi"), ("HEBREW",)),
    **dict.fromkeys(("bn", "as"), ("BENGALI",)), **dict.fromkeys(("am", "ti"), ("ETHIOPIC",)),
    **dict.fromkeys(("bo", "dz"), ("TIBETAN",)), "th": ("THAI",), "ta": ("TAMIL",), "te": ("TELUGU",),
    "kn": ("KANNADA",), "ml": ("MALAYALAM",), "gu": ("GUJARATI",), "pa": ("GURMUKHI",), "or": ("ORIYA",),
    "si": ("SINHALA",), "ka": ("GEORGIAN",), "hy": ("ARMENIAN",), "km": ("KHMER",), "lo": ("LAO",),
    "my": ("MYANMAR",), "dv": ("THAANA",),
}


def script_share(text: str, scripts: tuple[str, ...]) -> float:
    """The share of `text`'s letters whose Unicode name starts with one of `scripts` (1.0 for no letters)."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return 1.0
    return sum(unicodedata.name(ch, "").startswith(scripts) for ch in letters) / len(letters)


@cache
def _language_id() -> object:
    from py3langid import langid

    return langid


def untranslated(text: str, language: str, original: str | None = None) -> str | None:
    """Why `text` is not a translation into `language` but (mostly) the English it came from, or None.

    A copy of `original` (up to case and spacing) is one. In a language with a script of its own (zh, ja, ko,
    ru, ar, hi, …), fewer than half its letters in that script is another. In a Latin-script language the
    maintained language identifier py3langid (BSD; langid.py's model) decides between English and the language:
    English scoring higher means the text was left in English. A language py3langid does not know is not
    checked this way."""
    code = check_language(language)
    if code == "en":
        return None
    if original is not None and " ".join(text.casefold().split()) == " ".join(original.casefold().split()):
        return "a copy of the English question, not a translation"
    if code in _SCRIPTS:
        share = script_share(text, _SCRIPTS[code])
        if share < 0.5:
            return f"not in {LANGUAGE_NAMES[code]} script ({share:.0%} of its letters are)"
        return None
    ident: Any = _language_id()
    scores = dict(ident.rank(text))
    target = "no" if code in ("nb", "nn") else code
    if target in scores and scores["en"] > scores[target]:
        return f"reads as English, not {LANGUAGE_NAMES[code]} (language identification)"
    return None


__all__ = [
    "CHARS_PER_WORD", "LANGUAGE_ALIASES", "LANGUAGE_NAMES", "STANCE_LABELS", "STANCE_WORDS", "TEMPLATE_ECHOES",
    "UnknownLanguageError", "check_language", "count_words", "country_language", "country_languages", "is_cjk",
    "known_place", "language_name", "prompt_name", "script_share", "stance_of", "stance_words_in", "untranslated",
]
