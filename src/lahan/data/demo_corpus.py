"""A small built-in Marathi news-headline corpus for the offline ``lahan demo`` and tests.

The corpus is SYNTHETIC: every row is a headline that this module writes itself from
per-class templates and slot vocabularies. It is not real news, quotes nobody, and says
nothing true about the people, places or products it names. It exists so that
``lahan demo`` and the test-suite can train and evaluate a small classifier with no
network access and no downloaded data set, in a minute or two on a laptop CPU.

Label names follow L3Cube-MahaNews where they overlap (Auto, Bhakti, Crime, ...).
Cities, numbers, weekdays, a few generic words ("नवीन", "मोठी बातमी") and some themes
(cyber fraud in Crime and Tech, money in Politics and Manoranjan) are shared across
classes, so the task is not a pure keyword lookup, while each class keeps its own
distinctive vocabulary. ``demo_examples(seed)`` is deterministic for a seed and
different seeds give different corpora.
"""

from __future__ import annotations

import random
import string
import unicodedata

ROWS_PER_CLASS = 56
PREFIX_PROBABILITY = 0.15

# Data tables are hand-wrapped to stay compact, so the formatter leaves them alone.
# fmt: off
# (nominative, locative) so that templates can say "पुणे पोलीस" as well as "पुण्यात".
CITIES = (
    ("पुणे", "पुण्यात"), ("मुंबई", "मुंबईत"), ("नागपूर", "नागपुरात"), ("नाशिक", "नाशिकमध्ये"),
    ("कोल्हापूर", "कोल्हापुरात"), ("औरंगाबाद", "औरंगाबादमध्ये"), ("सोलापूर", "सोलापुरात"),
    ("ठाणे", "ठाण्यात"), ("सातारा", "साताऱ्यात"), ("अमरावती", "अमरावतीत"), ("लातूर", "लातुरात"),
    ("जळगाव", "जळगावात"), ("सांगली", "सांगलीत"), ("रत्नागिरी", "रत्नागिरीत"),
)
DAYS = ("सोमवारी", "मंगळवारी", "बुधवारी", "गुरुवारी", "शुक्रवारी", "शनिवारी", "रविवारी")
PREFIXES = ("मोठी बातमी:", "ताजी बातमी:", "ब्रेकिंग:", "महत्त्वाचे:", "नवीन अपडेट:")
_DEVANAGARI_DIGITS = str.maketrans("0123456789", "०१२३४५६७८९")

SHARED_SLOTS: dict[str, tuple[str, ...]] = {
    "city": tuple(nom for nom, _ in CITIES),
    "city_loc": tuple(loc for _, loc in CITIES),
    "day": DAYS,
    "num": tuple(str(n).translate(_DEVANAGARI_DIGITS) for n in range(2, 100)),
    "few": tuple(str(n).translate(_DEVANAGARI_DIGITS) for n in range(2, 15)),
    "date": tuple(str(n).translate(_DEVANAGARI_DIGITS) for n in range(1, 29)),
}

# label -> (templates, class-specific slot vocabulary)
CLASSES: dict[str, tuple[tuple[str, ...], dict[str, tuple[str, ...]]]] = {
    "Auto": (
        (
            "{brand}ची नवीन {vehicle} बाजारात दाखल, किंमत {few} लाखांपासून",
            "{model}ला ग्राहकांची पसंती, {city_loc} विक्रमी बुकिंग",
            "{day} लाँच होणार {brand}ची {vehicle}, मायलेज {num} किमी",
            "{city_loc} {vehicle} खरेदीकडे ग्राहकांचा वाढता कल",
            "{model}चे नवे व्हेरिएंट, {few} एअरबॅग्ज आणि सनरूफ",
            "सणासुदीआधी {brand}कडून {vehicle}वर {num} हजारांची सूट",
            "{model} विरुद्ध {model2}: कोणती गाडी घ्यावी?",
            "{brand}च्या वाहनविक्रीत {num} टक्के वाढ",
        ),
        {
            "brand": ("टाटा", "महिंद्रा", "मारुती सुझुकी", "ह्युंदाई", "बजाज", "होंडा", "किआ"),
            "model": ("Nexon EV", "XUV700", "Swift", "Creta", "Pulsar", "Activa", "Thar", "Seltos"),
            "vehicle": ("कार", "एसयूव्ही", "इलेक्ट्रिक स्कूटर", "बाईक", "इलेक्ट्रिक कार"),
        },
    ),
    "Bhakti": (
        (
            "{festival} विशेष: {place} येथे भाविकांची मोठी गर्दी",
            "{deity} पालखीचे {city_loc} उत्साहात स्वागत",
            "{place} मंदिरात {day} विशेष महापूजा, {num} हजार भाविकांची उपस्थिती",
            "{festival}: {deity} दर्शनासाठी पहाटेपासून रांगा",
            "{place} देवस्थानच्या दानपेटीत {num} लाखांचे दान",
            "{festival}: {city_loc} जय्यत तयारी, मंडळांची लगबग",
            "हरिनाम सप्ताहाला {city_loc} उदंड प्रतिसाद, {num} दिंड्या सहभागी",
            "{deity} मंदिर {day} रात्रभर दर्शनासाठी खुले राहणार",
        ),
        {
            "deity": ("विठ्ठल", "गणपती बाप्पा", "साईबाबा", "खंडोबा", "तुळजाभवानी", "अंबाबाई",
                      "ज्ञानेश्वर माउली", "तुकाराम महाराज"),
            "place": ("पंढरपूर", "शिर्डी", "जेजुरी", "आळंदी", "देहू", "तुळजापूर", "मोरगाव"),
            "festival": ("आषाढी एकादशी", "गणेशोत्सव", "नवरात्रोत्सव", "महाशिवरात्री",
                         "गुढीपाडवा", "दत्त जयंती", "कार्तिकी यात्रा"),
        },
    ),
    "Crime": (
        (
            "{city_loc} {crime} प्रकरणी {num} जणांना अटक",
            "{city_loc} भरदिवसा {crime}, पोलिसांकडून तपास सुरू",
            "{city} पोलिसांची कारवाई: {crime} करणारी टोळी जेरबंद",
            "{city} पोलिसांची मोठी कारवाई, {num} लाखांचा मुद्देमाल जप्त",
            "{crime} प्रकरणातील आरोपीला {few} दिवसांची पोलीस कोठडी",
            "{city_loc} {day} रात्री {crime}, घटना सीसीटीव्हीत कैद",
            "{city} पोलिसांचा इशारा: नवीन पद्धतीने होतेय {crime}",
        ),
        {
            "crime": ("घरफोडी", "सोनसाखळी चोरी", "ऑनलाइन फसवणूक", "दुचाकी चोरी", "खून",
                      "दरोडा", "सायबर फसवणूक", "अपहरण"),
        },
    ),
    "Education": (
        (
            "{exam} परीक्षेचा निकाल जाहीर, राज्याचा निकाल {num} टक्के",
            "{exam} परीक्षेचे वेळापत्रक जाहीर, {date} तारखेपासून सुरुवात",
            "{city} विद्यापीठाच्या {num} परीक्षा पुढे ढकलल्या",
            "{city_loc} {num} शाळांमध्ये नवीन डिजिटल वर्ग सुरू",
            "{exam}मध्ये {city} जिल्ह्यातील विद्यार्थिनी राज्यात पहिली",
            "शिक्षक भरती: {num} हजार पदांसाठी {day} जाहिरात",
            "{exam} प्रवेशपत्र {day} ऑनलाइन उपलब्ध होणार",
            "{city} जिल्हा परिषद शाळांतील {num} हजार विद्यार्थ्यांना मोफत गणवेश",
        ),
        {"exam": ("दहावी", "बारावी", "एमपीएससी", "नीट", "जेईई", "सीईटी")},
    ),
    "Health": (
        (
            "{city_loc} {disease}चे {num} नवे रुग्ण, आरोग्य विभाग सतर्क",
            "{tip} ठरते {disease}वर गुणकारी? जाणून घ्या तज्ज्ञांचे मत",
            "{city} जिल्हा रुग्णालयात {num} खाटांचा नवीन कक्ष",
            "{city_loc} मोफत आरोग्य तपासणी शिबिर, {num} रुग्णांची तपासणी",
            "{disease} प्रतिबंधासाठी {city_loc} घरोघरी सर्वेक्षण",
            "उन्हाळ्यात उष्माघाताचा धोका, {city_loc} {num} रुग्ण दाखल",
            "{tip} आरोग्यासाठी फायदेशीर, नवीन संशोधनातून माहिती समोर",
        ),
        {
            "disease": ("डेंग्यू", "मलेरिया", "स्वाइन फ्लू", "कोरोना", "मधुमेह", "गोवर",
                        "चिकुनगुनिया"),
            "tip": ("रोज चालणे", "कोमट पाणी", "पुरेशी झोप", "हळदीचे दूध", "योगासने",
                    "सकस आहार"),
        },
    ),
    "Manoranjan": (
        (
            "{actor} यांचा नवीन चित्रपट {day} प्रदर्शित होणार",
            "'{film}' ने पहिल्या आठवड्यात कमावले {num} कोटी",
            "{actor} आणि {actor2} पुन्हा एकत्र, नव्या मालिकेची घोषणा",
            "{actor} यांच्या '{film}' चित्रपटाचा ट्रेलर प्रदर्शित",
            "बिग बॉस मराठीच्या घरात {actor}? चर्चांना उधाण",
            "{city_loc} '{film}' चित्रपटाचे विशेष प्रदर्शन, चाहत्यांची गर्दी",
            "नाट्यसंमेलन {city_loc}; {actor} यांच्या हस्ते उद्घाटन",
        ),
        {
            "actor": ("रितेश देशमुख", "सई ताम्हणकर", "सिद्धार्थ जाधव", "प्राजक्ता माळी",
                      "अंकुश चौधरी", "सोनाली कुलकर्णी", "नाना पाटेकर", "अमृता खानविलकर"),
            "film": ("वेड", "झिम्मा", "नाळ", "पावनखिंड", "बाईपण भारी देवा", "दुनियादारी"),
        },
    ),
    "Politics": (
        (
            "{leader} यांची {city_loc} जाहीर सभा, विरोधकांवर टीका",
            "{city} महापालिका निवडणूक: {party}कडून {num} उमेदवारांची यादी जाहीर",
            "{leader} यांची {leader2} यांच्यावर टीका, राजकीय वातावरण तापले",
            "विधानसभेत {day} गदारोळ, {party} आमदारांचा सभात्याग",
            "{party} आणि {party2} यांच्यात जागावाटपावर चर्चा",
            "{leader} यांच्या उपस्थितीत {num} कार्यकर्त्यांचा पक्षप्रवेश",
            "मंत्रिमंडळ बैठकीत {city} जिल्ह्यासाठी {num} कोटींचा निधी मंजूर",
        ),
        {
            "leader": ("एकनाथ शिंदे", "देवेंद्र फडणवीस", "उद्धव ठाकरे", "शरद पवार",
                       "अजित पवार", "राज ठाकरे", "नाना पटोले"),
            "party": ("भाजप", "शिवसेना", "राष्ट्रवादी काँग्रेस", "काँग्रेस", "मनसे"),
        },
    ),
    "Sports": (
        (
            "{city_loc} झालेल्या सामन्यात {team}चा दणदणीत विजय",
            "{player}ची {num} धावांची तुफानी खेळी, {team} विजयी",
            "राज्यस्तरीय {sport} स्पर्धेला {city_loc} सुरुवात",
            "{team} विरुद्ध {team2} सामना {day}, तिकीटविक्री सुरू",
            "{sport} स्पर्धेत {city} संघाला सुवर्णपदक",
            "{player} दुखापतग्रस्त, पुढील {few} सामन्यांना मुकणार",
            "महाराष्ट्र केसरी कुस्ती स्पर्धा {city_loc}; {num} मल्लांचा सहभाग",
        ),
        {
            "team": ("मुंबई इंडियन्स", "चेन्नई सुपर किंग्ज", "पुणेरी पलटण", "गुजरात टायटन्स",
                     "राजस्थान रॉयल्स", "दिल्ली कॅपिटल्स", "यू मुंबा"),
            "player": ("रोहित शर्मा", "विराट कोहली", "ऋतुराज गायकवाड", "स्मृती मानधना",
                       "केदार जाधव", "शुभमन गिल"),
            "sport": ("कबड्डी", "कुस्ती", "खो-खो", "क्रिकेट", "बॅडमिंटन", "बुद्धिबळ"),
        },
    ),
    "Tech": (
        (
            "{brand}चा नवीन 5G स्मार्टफोन लाँच, किंमत {num} हजार",
            "{app} मध्ये नवीन फीचर, आता {feature} करता येणार",
            "{app} काही तासांसाठी ठप्प, {num} लाख वापरकर्ते त्रस्त",
            "{city_loc} नवीन आयटी पार्क, {num} हजार रोजगार निर्माण होणार",
            "एआयमुळे बदलणार नोकऱ्यांचे स्वरूप, {city} येथील परिषदेत चर्चा",
            "{brand}च्या फोनमध्ये {num} मेगापिक्सेल कॅमेरा, जाणून घ्या फीचर्स",
            "सायबर सुरक्षेसाठी {app} वापरकर्त्यांना पासवर्ड बदलण्याचा सल्ला",
        ),
        {
            "brand": ("सॅमसंग", "वनप्लस", "शाओमी", "ॲपल", "रिअलमी", "व्हिवो", "मोटोरोला"),
            "app": ("WhatsApp", "Instagram", "YouTube", "गूगल पे", "फेसबुक", "यूपीआय"),
            "feature": ("मेसेज एडिट", "व्हिडिओ कॉल शेड्यूल", "फोटो लपवणे", "स्टेटस शेअर",
                        "ऑफलाइन पेमेंट", "मराठीत टायपिंग"),
        },
    ),
}

# fmt: on

DEMO_LABELS: tuple[str, ...] = tuple(sorted(CLASSES))

_FORMATTER = string.Formatter()


def _fill(template: str, slots: dict[str, tuple[str, ...]], rng: random.Random) -> str:
    """Fill ``template``; "x" and "x2" draw distinct values from the same vocabulary."""
    values: dict[str, str] = {}
    used: dict[str, set[str]] = {}
    for _, field, _, _ in _FORMATTER.parse(template):
        if not field or field in values:
            continue
        base = field.rstrip("0123456789")
        taken = used.setdefault(base, set())
        choice = rng.choice([v for v in slots[base] if v not in taken])
        taken.add(choice)
        values[field] = choice
    return template.format(**values)


def _clean(text: str) -> str:
    return unicodedata.normalize("NFC", " ".join(text.split()))


def _generate(seed: int = 0) -> list[tuple[str, str, int]]:
    """(text, label, template index) rows; ``demo_examples`` drops the template index."""
    rng = random.Random(seed)
    seen: set[str] = set()
    rows: list[tuple[str, str, int]] = []
    for label in DEMO_LABELS:
        templates, own_slots = CLASSES[label]
        slots = {**SHARED_SLOTS, **own_slots}
        order = list(range(len(templates)))
        rng.shuffle(order)
        made, attempts = 0, 0
        while made < ROWS_PER_CLASS:
            attempts += 1
            if attempts > ROWS_PER_CLASS * 100:
                raise RuntimeError(f"demo corpus: templates of {label} ran out of variety")
            t_idx = order[attempts % len(order)]  # round-robin; a clash moves to the next one
            text = _fill(templates[t_idx], slots, rng)
            if rng.random() < PREFIX_PROBABILITY:
                text = f"{rng.choice(PREFIXES)} {text}"
            text = _clean(text)
            if text in seen:
                continue
            seen.add(text)
            rows.append((text, label, t_idx))
            made += 1
    rng.shuffle(rows)
    return rows


def demo_examples(seed: int = 0) -> list[tuple[str, str]]:
    """Synthetic Marathi headlines as (text, label) pairs, shuffled; same seed, same list."""
    return [(text, label) for text, label, _ in _generate(seed)]
