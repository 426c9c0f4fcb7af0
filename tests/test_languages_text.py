"""adaem.languages and the localized prompt templates: codes and names, countries' languages, word counts in every
script, stance words, and that every template renders and its answer format parses."""

import json
import re
from importlib import resources
from pathlib import Path

import pytest

from adaem.benchmark import load_questions
from adaem.errors import ConfigError
from adaem.languages import (
    CHARS_PER_WORD,
    LANGUAGE_NAMES,
    STANCE_LABELS,
    STANCE_WORDS,
    TEMPLATE_ECHOES,
    _place_key,
    check_language,
    count_words,
    country_language,
    country_languages,
    is_cjk,
    known_place,
    language_name,
    prompt_name,
    stance_of,
    stance_words_in,
)
from adaem.prompts import template

LOCALIZED = ("zh", "fr", "de", "es", "ja")
SLOTS = {"question": "Should zoos be abolished?", "k": 3, "words": 80, "chars": CHARS_PER_WORD * 80}
STANCES = {"yes", "no", "neutral"}


# -- templates ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", LOCALIZED)
def test_opinion_templates_render_with_the_english_slots(lang):
    english = template("opinion").substitute(SLOTS)
    text = template(f"opinion.{lang}").substitute(SLOTS)
    assert "$" not in text and SLOTS["question"] in text and "3" in text
    # CJK counts characters ($chars = 2 x $words), the others words, as the English one does
    limit = "160" if is_cjk(lang) else "80"
    assert limit in text and ("80" not in text if is_cjk(lang) else "160" not in text)
    assert len(text.splitlines()) == len(english.splitlines()) and text.endswith("\n")
    system = template(f"opinion_system.{lang}").substitute()
    assert "$" not in system and system.strip() and len(system.strip().splitlines()) == 1


@pytest.mark.parametrize("lang", LOCALIZED)
def test_opinion_templates_keep_a_parseable_format(lang):
    lines = template(f"opinion.{lang}").substitute(SLOTS).splitlines()
    stance_line = next(line for line in lines if re.match(r"^[^:：]{1,20}\s*[:：]", line) and "$" not in line
                       and stance_words_in(line))
    label, options = re.split(r"\s*[:：]\s*", stance_line, maxsplit=1)
    assert label.lower() in STANCE_LABELS  # a native label the parser knows
    assert stance_words_in(options) == STANCES and stance_of(options) is None  # an echo of the options is no stance
    items = [line for line in lines if re.match(r"^\d\. ", line)]  # ASCII digit, full stop, space
    assert len(items) == 2
    colon = "：" if lang in ("zh", "ja") else ":"  # full-width in zh/ja, ASCII (fr: with a space before) elsewhere
    for item in items:
        assert colon in item
        for placeholder in re.findall(r"<[^>]+>", item):
            assert any(echo in placeholder.lower() for echo in TEMPLATE_ECHOES), placeholder


def test_translate_and_language_line_render():
    text = template("translate").substitute(language="French", text="Should Japan allow dual citizenship?")
    assert "French" in text and "Should Japan allow dual citizenship?" in text and "$" not in text
    system = template("translate_system").substitute()
    assert "translation only" in system and "never answer" in system  # the translator is cast as one
    line = template("opinion_language").substitute(language="Swahili")
    assert "Swahili" in line and "$" not in line and len(line.strip().splitlines()) == 1
    assert "Stance: Yes, No or Neutral" in line  # untemplated languages keep the English stance line


ANSWERS = {
    "zh": ("立场：否\n1. 动物福利：圈养会给野生动物带来长期的压力和痛苦。\n2. 保护教育：动物园让公众了解濒危物种。\n"
           "3. 物种保护：繁育计划帮助拯救了许多濒危物种。", "no"),
    "ja": ("立場：はい\n1. 動物の福祉：飼育は野生動物に大きなストレスを与える。\n2. 保全教育：動物園は絶滅危惧種について"
           "人々に教える。\n3. 種の保存：繁殖計画が多くの種を救ってきた。", "yes"),
    "fr": ("Position : Neutre\n1. Bien-être animal : la captivité cause du stress aux animaux sauvages.\n"
           "2. Éducation : les zoos font connaître les espèces menacées.\n"
           "3. Conservation : les programmes d'élevage sauvent des espèces.", "neutral"),
    "de": ("Haltung: Nein\n1. Tierwohl: Gefangenschaft verursacht Stress bei Wildtieren.\n"
           "2. Bildung: Zoos machen bedrohte Arten bekannt.\n3. Artenschutz: Zuchtprogramme retten bedrohte Arten.", "no"),
    "es": ("Postura: Sí\n1. Bienestar animal: el cautiverio causa estrés a los animales salvajes.\n"
           "2. Educación: los zoológicos dan a conocer especies amenazadas.\n"
           "3. Conservación: la cría en cautividad salva especies.", "yes"),
}


@pytest.mark.parametrize("lang", LOCALIZED)
def test_an_answer_in_the_template_format_parses(lang):
    from adaem.measure import parse_opinion

    text, stance = ANSWERS[lang]
    opinion = parse_opinion(text, 3)
    assert len(opinion.points) == 3 and all(p.point and p.justification for p in opinion.points)
    assert all(count_words(p.text) >= 3 for p in opinion.points)
    assert stance_of(re.split(r"[:：]", text.splitlines()[0], maxsplit=1)[1]) == stance


@pytest.mark.parametrize("lang", LOCALIZED)
def test_measure_reads_the_native_stance_line(lang):
    from adaem.measure import parse_stance

    text, stance = ANSWERS[lang]
    assert parse_stance(text) == stance


# -- codes and names ------------------------------------------------------------------------------------------
def test_language_codes_and_names():
    wanted = ("en zh fr de es ja ko ru ar pt it hi bn ur fa tr vi th id ms sw pl uk nl sv el he ro hu cs fi da no am "
              "yo ha ta te tl zu").split()
    assert set(wanted) <= set(LANGUAGE_NAMES) and len(LANGUAGE_NAMES) >= 180
    assert all(re.fullmatch(r"[a-z]{2}", code) and name for code, name in LANGUAGE_NAMES.items())
    assert language_name("zh") == "Chinese" and language_name("TL") == "Tagalog" and language_name("fa") == "Persian"
    assert check_language(" ZH ") == "zh" and check_language("fil") == "tl" and check_language("iw") == "he"
    assert prompt_name("zh") == "Simplified Chinese" and prompt_name("de") == "German"
    assert is_cjk("zh") and is_cjk("JA") and is_cjk("ko") and not is_cjk("fr") and not is_cjk("th")


@pytest.mark.parametrize(("raw", "hint"), [("xx", None), ("Chinese", "'zh'"), ("zh-CN", "'zh'"), ("pt_BR", "'pt'"),
                                           ("zho", "'zh'"), ("german", "'de'"), ("", None)])
def test_unknown_languages_are_config_errors_naming_known_ones(raw, hint):
    with pytest.raises(ConfigError) as info:
        language_name(raw)
    message = str(info.value)
    assert "\n" not in message and "en, zh" in message and repr(raw) in message
    assert isinstance(info.value, ValueError)  # so a config validator reports it as a field error
    assert (f"did you mean {hint}" in message) if hint else ("did you mean" not in message)
    with pytest.raises(ConfigError):
        check_language(None)  # type: ignore[arg-type]


def test_config_languages_are_checked():
    from pydantic import ValidationError

    from adaem.config import Evaluation

    assert Evaluation(languages=["EN", "zh"]).languages == ["en", "zh"]
    with pytest.raises(ValidationError, match="unknown language"):
        Evaluation(languages=["en", "klingon"])


# -- countries ------------------------------------------------------------------------------------------------
def _raw_table():
    return json.loads(resources.files("adaem").joinpath("data/country_languages.json").read_text(encoding="utf-8"))


def test_country_table_is_consistent():
    raw = _raw_table()
    assert "majority" in raw["_rule"] and isinstance(raw["_notes"], dict)
    by_key: dict[str, str | None] = {}
    for name, code in raw.items():
        if name.startswith("_"):
            continue
        assert code is None or code in LANGUAGE_NAMES, (name, code)
        key = _place_key(name)
        assert by_key.setdefault(key, code) == code, f"{name!r} normalises onto another name with another language"
    assert len(country_languages()) == len(by_key) >= 250
    for name in raw["_notes"]:
        assert known_place(name), name


def test_every_country_adaem_ships_or_generates_maps():
    """The places in the shipped seeds (none name one today), the sample benchmark, the mock generator and the
    tests' benchmarks all have a language."""
    from adaem.models.providers.mock import _PLACES

    seeds = [json.loads(line) for line in
             resources.files("adaem").joinpath("data/seeds.jsonl").read_text(encoding="utf-8").splitlines() if line]
    sample = Path(__file__).parents[1] / "examples" / "sample_benchmark.jsonl"
    places = {s["country"] for s in seeds if s.get("country")} | set(_PLACES)
    places |= {q.country for q in load_questions(str(sample)) if q.country} if sample.is_file() else set()
    places |= {"Australia", "Japan", "Kenya", "Nigeria", "United Kingdom", "China", "France", "Brazil", "Iran",
               "US", "Latin America"}
    for place in places:
        assert country_language(place) in LANGUAGE_NAMES, place


@pytest.mark.parametrize(("place", "code"), [
    ("Japan", "ja"), ("japan", "ja"), ("USA", "en"), ("U.S.", "en"), ("United States of America", "en"),
    ("UK", "en"), ("Great Britain", "en"), ("South Korea", "ko"), ("Korea, Republic of", "ko"), ("Hong Kong", "zh"),
    ("Taiwan", "zh"), ("the Netherlands", "nl"), ("Côte d'Ivoire", "fr"), ("Cote d’Ivoire", "fr"), ("Turkey", "tr"),
    ("Türkiye", "tr"), ("Guinea Bissau", "pt"), ("St. Lucia", "en"), ("DRC", "fr"), ("Viet Nam", "vi"),
    ("India", "hi"), ("Pakistan", "ur"), ("Switzerland", "de"), ("Belgium", "nl"), ("Nigeria", "en"), ("Kenya", "sw"),
    ("Ethiopia", "am"), ("Philippines", "tl"), ("Senegal", "wo"), ("Belarus", "ru"), ("Haiti", "ht"),
    ("Latin America", "es"), ("Middle East", "ar"), ("Quebec", "fr"),
    ("Europe", None), ("EU", None), ("none", None), ("Global", None), ("", None), (None, None), ("Atlantis", None),
])
def test_country_language(place, code):
    assert country_language(place) == code


def test_known_place_tells_unknown_from_language_less():
    assert known_place("Europe") and known_place("the Gambia") and not known_place("Atlantis")


# -- word counts ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["", "Zoos fund conservation: breeding saves species.", "  a  b\tc\n d ",
                                  "Éducation : les zoos font connaître les espèces menacées.", "self-determination — ok",
                                  "Tierwohl: Gefangenschaft verursacht Stress.", "Право на жизнь важно"])
def test_count_words_is_whitespace_tokens_outside_cjk(text):
    assert count_words(text) == len(text.split()) and isinstance(count_words(text), float)


@pytest.mark.parametrize(("text", "words"), [
    ("中华人民共和国", 3.5),                # 7 ideographs, half a word each
    ("你好，世界", 2.0),                    # full-width punctuation counts nothing
    ("动物园让公众了解濒危物种。", 6.0),
    ("AI伦理很重要", 3.5),                  # a Latin run inside a CJK token is one word
    ("我 喜欢 GDP 2024", 3.5),
    ("ありがとうございます", 5.0),          # kana
    ("動物園は絶滅危惧種について", 6.5),    # kanji and kana
    ("ゲーム・センター", 3.5),              # the katakana middle dot is punctuation
    ("나는 학교에 갑니다", 4.0),            # Hangul syllables
    ("ประเทศไทย", 2.25),                   # Thai: a quarter word per letter
    ("ควรห้ามขายบุหรี่", 3.0),              # tone marks and vowel signs are not letters
    ("Zoos 动物园 matter", 3.5),
])
def test_count_words_in_scripts_without_spaces(text, words):
    assert count_words(text) == words


def test_cjk_character_limit_matches_the_word_limit():
    """An answer at the zh/ja templates' character limit counts as many words as the English limit allows."""
    assert count_words("字" * (CHARS_PER_WORD * 80)) == 80


# -- stance words ---------------------------------------------------------------------------------------------
def test_stance_words_cover_every_templated_language():
    per_language = {
        "en": ["yes", "no", "neutral"], "zh": ["是", "否", "中立", "支持", "反对"], "fr": ["oui", "non", "neutre"],
        "de": ["ja", "nein", "neutral"], "es": ["sí", "no", "neutral"], "ja": ["はい", "いいえ", "中立", "賛成", "反対"],
    }
    for lang, words in per_language.items():
        assert all(w in STANCE_WORDS for w in words), lang
        assert {STANCE_WORDS[w] for w in words} == STANCES, lang
    assert all(w == w.lower() and s in STANCES for w, s in STANCE_WORDS.items())
    assert all(label == label.lower() for label in STANCE_LABELS) and len(set(STANCE_LABELS)) == len(STANCE_LABELS)
    assert {"stance", "立场", "立場", "position", "avis", "haltung", "postura"} <= set(STANCE_LABELS)


@pytest.mark.parametrize(("text", "found"), [
    ("Yes", {"yes"}), ("Sí", {"yes"}), ("NEIN", {"no"}), ("Oui, Non ou Neutre", STANCES), ("none of them", set()),
    ("non-binding", {"no"}), ("nonetheless", set()), ("是", {"yes"}), ("不是", {"no"}), ("不支持", {"no"}),
    ("不同意", {"no"}), ("是否", set()), ("不应该", {"no"}), ("はい", {"yes"}), ("どちらでもない", {"neutral"}),
    ("Neutro", {"neutral"}), ("Ja, dafür", {"yes"}),
])
def test_stance_words_in(text, found):
    assert stance_words_in(text) == found


@pytest.mark.parametrize(("value", "stance"), [
    ("Yes", "yes"), ("**No**", "no"), ("Neutral.", "neutral"), ("Yes, No or Neutral", None), ("Yes. No doubt.", "yes"),
    ("Yes - no doubt", "yes"), ("No (with exceptions)", "no"), ("", None), ("It depends", None),
    ("否，因为这是一个复杂的问题", "no"), ("中立。这是一个难题", "neutral"), ("是、否或中立", None), ("不支持", "no"),
    ("はい、いいえ、または中立", None), ("いいえ。", "no"), ("Non, pas du tout", "no"), ("Sí", "yes"),
    # issue 24: Japanese negations hold a yes word (賛成, the はい in してはいけない); Spanish "si" without its accent
    ("賛成しない", "no"), ("賛成しません。", "no"), ("してはいけない", "no"), ("いいえ、してはいけない", "no"),
    ("しなければいけない", "yes"), ("Si", "yes"), ("si.", "yes"), ("SI, sin duda", "yes"), ("No, si acaso", "no"),
])
def test_stance_of(value, stance):
    assert stance_of(value) == stance
