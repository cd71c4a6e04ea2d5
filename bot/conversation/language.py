"""Is a message written in English? Lantern reads and answers English only.

A cheap test, no model: most words outside the Latin alphabet, or more function words of
another European language (Spanish, German, French, Portuguese, Italian, Dutch, Polish)
than of English. Buying intent is only judged on English messages; others get the
English-only reply, and the judgement's figures say how many that leaves out.
"""

from __future__ import annotations

import re

_ENGLISH = frozenset("""
the a an and or but is are was were be been i you we they he she it my our your their this that these
those to of in on for with at from by about as not no do does did have has had can could would should
will what how why when where which who me us them so if just please hi hello thanks any some more much
many get want need like am im it's its there here than then too very also one
""".split())
_OTHER = frozenset("""
el la los las un una unos y o pero es son que de del en por para con sin mi mis su sus nuestro nuestra
hola gracias cómo como qué cuánto cuanto der die das ein eine und oder aber ist sind wir ich sie mit für
fur von zu nicht auf bei unsere unser wie was hallo danke le les des une et ou mais est sont nous vous je
avec pour dans pas sur notre nos bonjour merci combien os um uma é são não nós com em meu minha obrigado
olá quanto il lo gli di che è sono noi per non ciao grazie het een of maar zijn wij ik met voor niet op
onze hoe wat dank jak czy nie się że jest są dla na w z do nasz nasza ile proszę muy también desde
cuando porque hemos tenemos haben wenn auch noch seit dem avons depuis quand aussi très cette dal della
nel alla anche abbiamo perché temos também muito hebben sinds ook mamy od kiedy też bardzo
""".split()) - _ENGLISH
_WORD = re.compile(r"[^\W\d_]+")
_LATIN = re.compile(r"[a-zà-ÿąćęłńóśźżß]+")


def looks_english(text: str) -> bool:
    """False when the message is plainly in another language; short or unclear text counts as English."""
    words = [w.lower() for w in _WORD.findall(text)]
    if not words:
        return True
    if sum(1 for w in words if _LATIN.fullmatch(w)) < len(words) / 2:
        return False
    english = sum(1 for w in words if w in _ENGLISH)
    other = sum(1 for w in words if w in _OTHER)
    return not (other >= 2 and other > english)
