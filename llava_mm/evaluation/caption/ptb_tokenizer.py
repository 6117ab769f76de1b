"""Pure-Python port of the PTB tokenizer that the COCO caption evaluation runs.

pycocoevalcap tokenizes every caption with the Stanford CoreNLP 3.4.1
``PTBTokenizer`` (``java -cp stanford-corenlp-3.4.1.jar ... -preserveLines
-lowerCase``) and then drops the tokens in :data:`PUNCTUATIONS`.  Java is not
installed everywhere, so this module reproduces that jar's output in Python: the same token boundaries, the same
normalisations (quotes to ````/''``, brackets to ``-LRB-``/``-LSB-``/...,
``cannot`` -> ``can not``, ``gonna`` -> ``gon na``, ``n't``/``'s`` splits,
abbreviation periods, unicode dashes / ellipses / fractions / currency, ...)
and the same quirks.  Two quirks worth knowing because they surprise people:

* ``-lowerCase`` lower-cases ``-LRB-`` to ``-lrb-``, so bracket tokens are *not*
  removed by pycocoevalcap's upper-case punctuation list and count as words;
* phone numbers and fractions like ``1 1/2`` become one token joined by a
  no-break space (``'1\\xa01/2'``).

The lexer is a JFlex scanner: at each position the longest match over all
rules wins (trailing context counts towards the length), ties go to the rule
written first.  :class:`_Lexer` emulates exactly that with Python regexes.  A
fast path handles the common caption made of plain words, commas and a final
full stop without running the rule set.

Known, deliberate difference: pycocoevalcap only replaces ``\\n`` inside a
caption; other line breaks (``\\r``, U+2028, ...) make Java emit extra lines and
shift every following caption onto the wrong image.  Here they separate tokens
like a space.  Characters outside the Basic Multilingual Plane (emoji) are
dropped, as the 2014 jar does with the surrogate halves.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Callable, Dict, List, Optional, Sequence, Tuple

__all__ = ['PTBTokenizer', 'PUNCTUATIONS', 'ptb_tokenize', 'tokenize_lines']

#: Tokens pycocoevalcap removes after tokenizing (exactly its list, case included).
PUNCTUATIONS = frozenset([
    "''", "'", '``', '`', '-LRB-', '-RRB-', '-LCB-', '-RCB-', '.', '?', '!',
    ',', ':', '-', '--', '...', ';'
])


# --------------------------------------------------------------------------
# Character classes ([:letter:] and [:digit:] of JFlex work on UTF-16 units,
# so only the Basic Multilingual Plane counts).
# --------------------------------------------------------------------------
def _class_from(predicate: Callable[[str], bool]) -> str:
    """Regex class body for the BMP characters accepted by ``predicate``."""
    parts, start, prev = [], None, None
    for code in range(0x10000):
        if 0xD800 <= code <= 0xDFFF:
            ok = False
        else:
            ok = predicate(chr(code))
        if ok and start is None:
            start = code
        if not ok and start is not None:
            parts.append((start, prev))
            start = None
        prev = code
    if start is not None:
        parts.append((start, prev))
    out = []
    for lo, hi in parts:
        out.append(re.escape(chr(lo)) if lo == hi else f'{re.escape(chr(lo))}-{re.escape(chr(hi))}')
    return ''.join(out)


_LETTER_BODY = _class_from(lambda c: unicodedata.category(c)[0] == 'L')
_DIGIT_BODY = _class_from(lambda c: unicodedata.category(c) == 'Nd') + '\u07C0-\u07C9'
_UPPER_BODY = _class_from(lambda c: unicodedata.category(c) == 'Lu')
# Marks and odd letters PTBLexer adds to WORD on top of [:letter:].
_WORD_EXTRA = ('\u00AD\u0237-\u024F\u02C2-\u02C5\u02D2-\u02DF\u02E5-\u02FF\u0300-\u036F'
               '\u0370-\u037D\u0384\u0385\u03CF\u03F6\u03FC-\u03FF\u0483-\u0487\u04CF'
               '\u04F6-\u04FF\u0510-\u0525\u055A-\u055F\u0591-\u05BD\u05BF\u05C1\u05C2'
               '\u05C4\u05C5\u05C7\u0615-\u061A\u063B-\u063F\u064B-\u065E\u0670'
               '\u06D6-\u06EF\u06FA-\u06FF\u070F\u0711\u0730-\u074F\u0750-\u077F'
               '\u07A6-\u07B1\u07CA-\u07F5\u07FA\u0900-\u0903\u093C\u093E-\u094E'
               '\u0951-\u0955\u0962-\u0963\u0981-\u0983\u09BC-\u09C4\u09C7\u09C8'
               '\u09CB-\u09CD\u09D7\u09E2\u09E3\u0A01-\u0A03\u0A3C\u0A3E-\u0A4F'
               '\u0A81-\u0A83\u0ABC-\u0ACF\u0B82\u0BBE-\u0BC2\u0BC6-\u0BC8\u0BCA-\u0BCD'
               '\u0C01-\u0C03\u0C3E-\u0C56\u0D3E-\u0D44\u0D46-\u0D48\u0E30-\u0E3A'
               '\u0E47-\u0E4E\u0EB1-\u0EBC\u0EC8-\u0ECD')


def _ci(words: str) -> str:
    """Case-insensitive literal alternatives (JFlex %caseless spares char classes)."""
    return f'(?i:{words})'


def _cap(word: str) -> str:
    """``[A]rk`` in the flex file: first letter case-sensitive, the rest caseless."""
    return word[0] + _ci(re.escape(word[1:]))


# --------------------------------------------------------------------------
# Macros of PTBLexer.flex (CoreNLP 3.4.1), as Python regexes.
# --------------------------------------------------------------------------
L = f'[{_LETTER_BODY}]'                       # [:letter:]
D = f'[{_DIGIT_BODY}]'                        # {DIGIT}
LD = f'[{_LETTER_BODY}{_DIGIT_BODY}]'         # [:letter:]|[:digit:]
SPACE = '[ \t\u00A0\u2000-\u200A\u3000]'
NEWLINE = '(?:\r\n|[\r\n\u2028\u2029\u000B\u000C\u0085])'
SPACENL = f'(?:{SPACE}|{NEWLINE})'
_SGML_NAME = '[A-Za-z][A-Za-z0-9_:.-]*'
SGML = ('<(?:[!?][A-Za-z-][^>\r\n]*'
        f"|{_SGML_NAME}(?: +(?:{_SGML_NAME} *= *(?:'[^'\\n]*'|\"[^\"\\n]*\")|{_SGML_NAME}))* *\\/?"
        f'|\\/{_SGML_NAME}) *>')
SENTEND = f'{SPACENL}(?:{SPACENL}|[{_UPPER_BODY}]|{SGML})'
SPMDASH = '&' + _ci('MD|mdash|ndash') + ';|[\u0096\u0097\u2013\u2014\u2015]'
SPAMP = '&' + _ci('amp') + ';'
SPPUNC = '&(?:' + _ci('HT|TL|UR|LR|QC|QL|QR|odq|cdq') + '|#[0-9]+);'
SPLET = '&[aeiouAEIOU]' + _ci('acute|grave|uml') + ';'
LETTER = f'(?:[{_LETTER_BODY}{_WORD_EXTRA}]|{SPLET})'
# Words may hold digits and inner . ! ? ("ab3", "ball.The", "what?No").
WORD = f'{LETTER}(?:{LETTER}|{D})*(?:[.!?]{LETTER}(?:{LETTER}|{D})*)*'
DATE = f'{D}{{1,2}}[\\-\\/]{D}{{1,2}}[\\-\\/]{D}{{2,4}}'
NUM = f'(?:{D}*(?:[.:,\u00AD\u066B\u066C]{D}+)+|{D}+)'
NUMBER = f'[\\-+]?{NUM}'
SUBSUPNUM = '[\u207A\u207B\u208A\u208B]?(?:[\u2070\u00B9\u00B2\u00B3\u2074-\u2079]+|[\u2080-\u2089]+)'
FRAC = f'(?:{D}{{1,4}}[- \u00A0])?{D}{{1,4}}(?:\\\\?\\/|\u2044){D}{{1,4}}'
FRAC2 = '[\u00BC\u00BD\u00BE\u2153-\u215E]'
DOLSIGN = r'(?:[A-Z]*\$|#)'
DOLSIGN2 = '[\u00A2\u00A3\u00A4\u00A5\u0080\u20A0\u20AC\u060B\u0E3F\u20A4\uFFE0\uFFE1\uFFE5\uFFE6]'
APOS = "(?:['\u0092\u2019]|&" + _ci('apos') + ';)'
APOSETC = f'(?:{APOS}|[`\u0091\u2018\u201B])'
HYPHEN = '[-_\u058A\u2010\u2011]'
_THING_PART = f'(?:[dDoOlL]{APOSETC}{LD})?{LD}+'
THING = f'{_THING_PART}(?:{HYPHEN}{_THING_PART})*'
THINGA = f'[A-Z]+(?:(?:[+&]|{SPAMP})[A-Z]+)+'
THING3 = r'[A-Za-z0-9]+(?:-[A-Za-z]+){0,2}(?:\\?\/[A-Za-z0-9]+(?:-[A-Za-z]+){0,2}){1,2}'
_ACRO_SPECIAL = (_ci('canada|sino|korean|eu|japan|non') + '-' + _ci('u\\.s') + '|'
                 + _ci('u\\.s\\.-(?:u\\.k|u\\.s\\.s\\.r)'))
ACRO = f'(?:{_ACRO_SPECIAL}|[A-Za-z](?:\\.[A-Za-z])*)'
ACRO2 = f'(?:{_ACRO_SPECIAL}|[A-Za-z](?:\\.[A-Za-z])+)'
HTHING = f'[A-Za-z0-9][A-Za-z0-9.,\u00AD]*(?:-(?:{ACRO2}\\.|[A-Za-z0-9\u00AD]+))+'
REDAUX = f'{APOS}(?:[msdMSD]|' + _ci('re|ve|ll') + ')'
SWORD = '[A-Za-z\u00AD]*[A-MO-Za-mo-z]\u00AD*'
SREDAUX = _ci('n') + APOSETC + _ci('t')
APOWORDS = [
    f'{APOS}' + _ci('n') + f'{APOS}?', f'[lLdDjJ]{APOS}', _ci('dunkin') + APOS,
    _ci('somethin') + APOS, _ci('ol') + APOS, APOS + _ci('em'),
    f'[A-HJ-XZn]{APOSETC}{L}{{2}}{L}*', f'{APOS}[2-9]0' + _ci('s'), APOS + _ci('till?'),
    f'{L}{L}*[aeiouyAEIOUY]{APOSETC}[aeiouA-Z]{L}*', APOS + _ci('cause'),
    _ci("cont'd\\.?|'twas|nor'easter|c'mon|e'er|s'mores|ev'ry|li'l|nat'l"),
    _ci('o') + APOSETC + _ci('o'),
]
APOWORD2 = _ci('y') + APOS
FULLURL = _ci('https?://') + '[^ \t\n\f\r"<>|(){}]+[^ \t\n\f\r"<>|.!?(){},-]'
_URL_PATH = '(?:\\/[^ \t\n\f\r"<>|()]+[^ \t\n\f\r"<>|.!?(){},-])?'
LIKELYURLS = [_ci('www') + '\\.(?:[^ \t\n\f\r"<>|.!?(){},]+\\.)+[a-zA-Z]{2,4}' + _URL_PATH,
              # ",-_" is a character range (, to _) in the original too.
              '(?:[^ \t\n\f\r"`\'<>|.!?(){},-_$]+\\.)+' + _ci('com|net|org|edu') + _URL_PATH]
EMAIL = ('(?:<|&' + _ci('lt') + ';)?[a-zA-Z0-9][^ \t\n\f\r"<>|()\u00A0{}]*@'
         '(?:[^ \t\n\f\r"<>|(){}.\u00A0]+\\.)*[^ \t\n\f\r"<>|(){}.\u00A0]+(?:>|&' + _ci('gt') + ';)?')
TWITTER = f'@[a-zA-Z_][a-zA-Z_0-9]*|#{LETTER}+'
FILENAME = (f'(?:{LETTER}|{D})+(?:\\.(?:{LETTER}|{D})+)*\\.'
            + _ci('bat|bmp|c|class|cgi|cpp|dll|docx?|exe|gif|gz|h|html?|jar|java|jpe?g|mov|mp3|pdf|php|pl|png'
                  '|ppt|ps|py|sql|tar|txt|wav|x|xml|zip'))

_ABMONTH = _ci('jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec')
_ABDAYS = _ci('mon|tues?|wed|thu(?:rs)?|fri')
_ABSTATE = ('(?:' + _ci('ala|ariz|calif|colo|conn|ct|dak|fla|ga|ind|kans?|ky|md|mich|minn|mo|mont|neb|nev|'
                        'okla|penn|tenn|va|vt|wisc?|wyo') + '|'
            + '|'.join(_cap(w) for w in ['Az', 'Ark', 'Del', 'Ill', 'La', 'Mass', 'Miss', 'Ore', 'Pa', 'Tex',
                                         'Wash']) + ')')
_ABCOMP = _ci('inc|cos?|corp|pp?t[ye]s?|ltd|plc|rt|bancorp|bhd|assn|univ|intl|sys')
_ABNUM = _ci('tel|est|ext|sq')
_ABPTIT = _ci('jr|sr|bros|(?:ed|ph)\\.d|blvd|rd|esq')
ABBREV1 = f'(?:{_ABMONTH}|{_ABDAYS}|{_ABSTATE}|{_ABCOMP}|{_ABNUM}|{_ABPTIT}|' + _ci('etc|al|seq|bldg') + ')\\.'
_ABTITLE = ('(?:' + _ci('mrs?|ms|drs?|profs?|sens?|reps?|attys?|lt|col|gen|messrs|govs?|adm|rev|maj|'
                        'sgt|cpl|pvt|capt|ste?|ave|pres|lieut|hon|brig|co?mdr|pfc|spc|supts?|det|mt|'
                        'ft|adj|adv|asst|assoc|ens|insp|mlle|mme|msgr|sfc') + '|' + _cap('Miss') + ')')
_ABCOMP2 = _ci('invt|elec|natl|m[ft]g|dept')
ABBREV4 = (f'(?:{ACRO}|{_ABTITLE}|' + _ci('vs') + '|v|' + _ci('alex|wm|jos|cie|a\\.k\\.a|cf|treas|ph')
           + f'|{_ABCOMP2})')
ABBREV2 = f'{ABBREV4}\\.'
ACRONYM = f'{ACRO}\\.'
ABBREV3 = _ci('ca|figs?|prop|nos?|art|bldg|pp|op') + '\\.'
# Words after which an acronym's period also ends the sentence ("in the U.S. The ...").
_ACRONYM_FOLLOWERS = ('About According Additionally After An A As At But Earlier He Her Here However If In It '
                      'Last Many More Mr. Ms. Now Once One Other Our She Since So Some Such That The Their Then '
                      'There These They This We When While What Yet You').split()
_FOLLOWERS_RE = '|'.join(_cap(w) if len(w) > 1 else w for w in _ACRONYM_FOLLOWERS)
PHONE = ('(?:\\([0-9]{2,3}\\)[ \u00A0]?|(?:\\+\\+?)?(?:[0-9]{2,4}[\\- \u00A0])?[0-9]{2,4}[\\- \u00A0])'
         '[0-9]{3,4}[\\- \u00A0]?[0-9]{3,5}'
         '|(?:(?:\\+\\+?)?[0-9]{2,4}\\.)?[0-9]{2,4}\\.[0-9]{3,4}\\.[0-9]{3,5}')
LDOTS = '\\.{3,5}|(?:\\.[ \u00A0]){2,4}\\.|[\u0085\u2026]'
FNMARKS = '@+|#+|_+'
ASTS = r'\*+|(?:\\\*){1,3}'
INSENTP = '[,;:\u3001]'
QUOTES = [APOS, "''", ("[`\u2018\u2019\u201A\u201B\u201C\u201D\u0091\u0092\u0093\u0094\u201E\u201F"
                       "\u2039\u203A\u00AB\u00BB]{1,2}")]
DBLQUOT = '"|&' + _ci('quot') + ';'
TBSPEC = ('-' + _ci('rrb|lrb|rcb|lcb|rsb|lsb') + '-|' + _ci('c\\.d\\.s|pro-|anti-') + '|'
          + _ci('s') + '(?:&|' + SPAMP + ')' + _ci('p-500') + '|' + _ci('s') + '(?:&|' + SPAMP + ')'
          + _ci('ls') + '|' + _ci('cap') + APOS + _ci('n') + '|' + _ci('c') + APOS + _ci('est'))
TBSPEC2 = f'{APOS}[0-9][0-9]'
SMILEY = "[<>]?[:;=][\\-o\\*']?[()DPdpO\\\\{@|\\[\\]]"
ASIANSMILEY = ("[\\^x=~<>]\\.\\[\\^x=~<>]|[\\-\\^x=~<>']_[\\-\\^x=~<>']"
               "|\\([\\-\\^x=~<>'][_.]?[\\-\\^x=~<>']\\)|\\([\\^x=~<>']-[\\^x=~<>'`]\\)")
MISCSYMBOL = ('[+%&~\\^|\\\\\u00A6\u00A7\u00A8\u00A9\u00AC\u00AE\u00AF\u00B0-\u00B3\u00B4-\u00BA'
              '\u00D7\u00F7\u0387\u05BE\u05C0\u05C3\u05C6\u05F3\u05F4\u0600-\u0603\u0606-\u060A'
              '\u060C\u0614\u061B\u061E\u066A\u066D\u0703-\u070D\u07F6\u07F7\u07F8\u0964\u0965'
              '\u0E4F\u1FBD\u2016\u2017\u2020-\u2023\u2030-\u2038\u203B\u203E-\u2042\u2044'
              '\u207A-\u207F\u208A-\u208E\u2100-\u214F\u2190-\u21FF\u2200-\u2BFF\u3012\u30FB'
              '\uFF01-\uFF0F\uFF1A-\uFF20\uFF3B-\uFF40\uFF5B-\uFF65]')
PROG_LANGS = _ci('c\\+\\+|[cf]#')
SKIP = '\x00|' + SPACE + '+|[\u200B\u200E\u200F\uFEFF]|&' + _ci('nbsp') + ';'


# --------------------------------------------------------------------------
# Token actions (the Java code of each rule).  They get the matched token text
# and return (tokens, consumed_length); consumed < len(text) is a pushback.
# --------------------------------------------------------------------------
_SINGLE_QUOTE = re.compile("&apos;|'")
_DOUBLE_QUOTE = re.compile('"|&quot;')
_LEFT_SINGLE = re.compile('[\u0091\u2018\u201B\u2039]')
_RIGHT_SINGLE = re.compile('[\u0092\u2019\u203A]')
_LEFT_DOUBLE = re.compile('[\u0093\u201C\u00AB]')
_RIGHT_DOUBLE = re.compile('[\u0094\u201D\u00BB]')
_AMP = re.compile('&amp;', re.IGNORECASE)
_FRACTIONS = {'\u00BC': '1/4', '\u00BD': '1/2', '\u00BE': '3/4', '\u2153': '1/3', '\u2154': '2/3'}


def _latex_quotes(tok: str, probably_left: bool) -> str:
    if probably_left:
        tok = _DOUBLE_QUOTE.sub('``', _SINGLE_QUOTE.sub('`', tok))
    else:
        tok = _DOUBLE_QUOTE.sub("''", _SINGLE_QUOTE.sub("'", tok))
    tok = _LEFT_SINGLE.sub('`', tok)
    tok = _RIGHT_SINGLE.sub("'", tok)
    tok = _LEFT_DOUBLE.sub('``', tok)
    return _RIGHT_DOUBLE.sub("''", tok)


def _no_soft_hyphens(tok: str) -> str:
    tok = tok.replace('\u00AD', '')
    return tok or '-'


def _currency(tok: str) -> str:
    tok = tok.replace('\u00A2', 'cents').replace('\u00A3', '#')
    return re.sub('[\u0080\u00A4\u20A0\u20AC]', '$', tok)


def _parens(tok: str) -> str:
    return tok.replace('(', '-LRB-').replace(')', '-RRB-')


Action = Callable[[str], Tuple[List[str], int]]


def _keep(tok: str) -> Tuple[List[str], int]:
    return [tok], len(tok)


def _map(fn: Callable[[str], str]) -> Action:
    return lambda tok: ([fn(tok)], len(tok))


def _const(out: str) -> Action:
    return lambda tok: ([out], len(tok))


def _pushback(n: int) -> Action:
    return lambda tok: ([tok[:-n]], len(tok) - n)


def _skip(tok: str) -> Tuple[List[str], int]:
    return [], len(tok)


def _dup_period(tok: str) -> Tuple[List[str], int]:
    """Abbreviation ending a sentence: keep ``Inc.`` and rescan its period."""
    return [tok], len(tok) - 1


def _acronym(tok: str) -> Tuple[List[str], int]:
    """Acronym before a sentence start: ``U.S.`` + ``.``; ``I.`` -> ``I`` + ``.``."""
    if len(tok) == 2:
        return [tok[:1]], 1
    return [tok], len(tok) - 1


def _hyphens(tok: str) -> Tuple[List[str], int]:
    return (['--'] if 3 <= len(tok) <= 4 else [tok]), len(tok)


def _first_char_test(pattern: str) -> Callable[[str], bool]:
    """Predicate telling whether a match of ``pattern`` can start with a character.

    Computed from Python's own parse tree, so lexer dispatch by first character
    never drops a rule that could match.
    """
    try:  # Python >= 3.11
        from re import _constants as C  # noqa: N812
        from re import _parser
    except ImportError:  # pragma: no cover - Python 3.9 / 3.10
        import sre_constants as C  # noqa: N812
        import sre_parse as _parser

    def in_class(items, ch, icase):
        variants = {ch, ch.lower(), ch.upper(), ch.swapcase()} if icase else {ch}
        negate = bool(items) and items[0][0] is C.NEGATE
        hit = False
        for op, av in items:
            if op is C.LITERAL:
                hit = any(ord(v) == av for v in variants if len(v) == 1)
            elif op is C.RANGE:
                hit = any(len(v) == 1 and av[0] <= ord(v) <= av[1] for v in variants)
            elif op is C.CATEGORY:
                probe = {C.CATEGORY_DIGIT: r'\d', C.CATEGORY_NOT_DIGIT: r'\D', C.CATEGORY_SPACE: r'\s',
                         C.CATEGORY_NOT_SPACE: r'\S', C.CATEGORY_WORD: r'\w',
                         C.CATEGORY_NOT_WORD: r'\W'}[av]
                hit = re.fullmatch(probe, ch) is not None
            elif op is C.NEGATE:
                continue
            if hit:
                break
        return hit != negate

    def seq_first(items, icase):
        """(list of (kind, payload, icase) alternatives, nullable) for a sequence."""
        firsts = []
        for op, av in items:
            f, nullable = item_first(op, av, icase)
            firsts.extend(f)
            if not nullable:
                return firsts, False
        return firsts, True

    def item_first(op, av, icase):
        if op is C.LITERAL:
            return [('lit', av, icase)], False
        if op is C.NOT_LITERAL:
            return [('notlit', av, icase)], False
        if op is C.IN:
            return [('in', av, icase)], False
        if op is C.ANY:
            return [('any', None, icase)], False
        if op is C.BRANCH:
            out, nullable = [], False
            for alt in av[1]:
                f, n = seq_first(alt, icase)
                out.extend(f)
                nullable = nullable or n
            return out, nullable
        if op is C.SUBPATTERN:
            add, remove = av[1], av[2]
            sub_icase = (icase or bool(add & re.IGNORECASE)) and not bool(remove & re.IGNORECASE)
            return seq_first(av[3], sub_icase)
        if op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, 'POSSESSIVE_REPEAT', C.MAX_REPEAT)):
            f, n = seq_first(av[2], icase)
            return f, n or av[0] == 0
        if op is C.AT:
            return [], True
        raise ValueError(f'unsupported regex construct {op} in {pattern!r}')

    parsed = _parser.parse(pattern)
    firsts, _ = seq_first(list(parsed), bool(parsed.state.flags & re.IGNORECASE))

    def test(ch: str) -> bool:
        for kind, payload, icase in firsts:
            if kind == 'any':
                return True
            if kind == 'lit':
                if ord(ch) == payload or (icase and chr(payload).lower() == ch.lower()):
                    return True
            elif kind == 'notlit':
                if ord(ch) != payload and not (icase and chr(payload).lower() == ch.lower()):
                    return True
            elif in_class(payload, ch, icase):
                return True
        return False

    return test


class _Rule:
    """One lexer rule: ``token`` regex, optional trailing ``context`` regex, action.

    Python's alternation is leftmost-first while JFlex takes the longest match,
    so a rule whose alternatives can be prefixes of each other is written as
    several rules with the same action (listed next to each other, which keeps
    JFlex's tie-breaking by rule order).
    """

    __slots__ = ('name', 'regex', 'has_context', 'action', 'can_start', 'longest_within')

    def __init__(self, name: str, token: str, action: Action = _keep, context: Optional[str] = None,
                 longest_within: int = 0):
        self.name = name
        # >0: also try every longer end up to this length (for nested alternations).
        self.longest_within = longest_within
        self.has_context = context is not None
        pattern = f'(?:{token})' if context is None else f'(?P<t>{token})(?:{context})'
        self.regex = re.compile(pattern)
        self.action = action
        self.can_start = _first_char_test(token)

    def match(self, text: str, pos: int) -> Optional[Tuple[int, int]]:
        """(total length incl. trailing context, token length) of the match at pos."""
        m = self.regex.match(text, pos)
        if m is None:
            return None
        end = m.end()
        if self.longest_within:
            for stop in range(min(len(text), pos + self.longest_within), end, -1):
                longer = self.regex.fullmatch(text, pos, stop)
                if longer is not None:
                    m, end = longer, stop
                    break
        tok_end = m.end('t') if self.has_context else end
        return end - pos, tok_end - pos


_FOLLOWING_ACRONYM = f'{SPACENL}+(?:{_FOLLOWERS_RE}|{SGML}){SPACENL}'

_RULES: List[_Rule] = [
    _Rule('PROG_LANGS', PROG_LANGS),
    _Rule('ASSIMILATIONS3', _ci("cannot|'twas"), _pushback(3)),
    _Rule('ASSIMILATIONS2', _ci("'tis|gonna|gotta|lemme|gimme|wanna"), _pushback(2)),
    _Rule('SGML', SGML, _map(lambda t: re.sub('[ \r\n]', '\u00A0', t))),
    _Rule('SPMDASH', SPMDASH, _const('--')),
    _Rule('SPAMP', SPAMP, _map(lambda t: _AMP.sub('&', t))),
    _Rule('SPPUNC', SPPUNC),
    _Rule('WORD/REDAUX', WORD, _map(_no_soft_hyphens), context=REDAUX),
    _Rule('SWORD/SREDAUX', SWORD, _map(_no_soft_hyphens), context=SREDAUX),
    _Rule('WORD', WORD, _map(_no_soft_hyphens)),
    *[_Rule(f'APOWORD{i}', p) for i, p in enumerate(APOWORDS)],
    _Rule('APOWORD2', APOWORD2, context=L),
    _Rule('FULLURL', FULLURL),
    *[_Rule(f'LIKELYURL{i}', p) for i, p in enumerate(LIKELYURLS)],
    _Rule('EMAIL', EMAIL),
    _Rule('TWITTER', TWITTER),
    _Rule('REDAUX/nonletter', REDAUX, _map(lambda t: _latex_quotes(t, False)), context='[^A-Za-z]'),
    _Rule('SREDAUX', SREDAUX, _map(lambda t: _latex_quotes(t, False))),
    _Rule('DATE', DATE),
    _Rule('NUMBER', NUMBER, _map(_no_soft_hyphens)),
    _Rule('SUBSUPNUM', SUBSUPNUM),
    _Rule('FRAC', FRAC, _map(lambda t: t.replace(' ', '\u00A0'))),
    _Rule('FRAC2', FRAC2, _map(lambda t: _FRACTIONS.get(t, t))),
    _Rule('TBSPEC', TBSPEC, _map(lambda t: _AMP.sub('&', t))),
    _Rule('THING3', THING3),
    _Rule('DOLSIGN', DOLSIGN),
    _Rule('DOLSIGN2', DOLSIGN2, _map(_currency)),
    _Rule('ACRONYM/follower', ACRONYM, _acronym, context=_FOLLOWING_ACRONYM),
    _Rule('ABBREV3/digit', ABBREV3, context=f'{SPACENL}?{D}'),
    _Rule('PTY/CO-LTD', _ci('pt') + '[eyEY]\\.|' + _ci('co') + '\\.', context=SPACE + _ci('ltd|lim')),
    _Rule('ABBREV1/SENTEND', ABBREV1, _dup_period, context=SENTEND),
    _Rule('ABBREV1/2chars', ABBREV1, context='[\\s\\S]{2}'),
    _Rule('ABBREV1', ABBREV1, _dup_period),
    _Rule('ABBREV2', ABBREV2),
    _Rule('ABBREV4/SPACE', ABBREV4, context=SPACE),
    _Rule('ACRO/SPACENL', ACRO, context=SPACENL),
    _Rule('TBSPEC2/SPACENL', TBSPEC2, context=SPACENL),
    _Rule('FILENAME', FILENAME, context=f'{SPACENL}|[.?!,]'),
    _Rule('WORD./INSENTP', f'{WORD}\\.', _map(_no_soft_hyphens), context=INSENTP),
    _Rule('PHONE', PHONE, _map(lambda t: _parens(t.replace(' ', '\u00A0'))), longest_within=24),
    _Rule('DBLQUOT/left', DBLQUOT, _map(lambda t: _latex_quotes(t, True)), context='[A-Za-z0-9$]'),
    _Rule('DBLQUOT', DBLQUOT, _map(lambda t: _latex_quotes(t, False))),
    _Rule('DEL', '\x7f', _skip),
    _Rule('LESSTHAN', '<|&' + _ci('lt') + ';', _const('<')),
    _Rule('GREATERTHAN', '>|&' + _ci('gt') + ';', _const('>')),
    _Rule('SMILEY', SMILEY, _map(_parens), context='[^A-Za-z0-9]'),
    _Rule('ASIANSMILEY', ASIANSMILEY, _map(_parens)),
    _Rule('LCB', '\\{', _const('-LCB-')),
    _Rule('RCB', '\\}', _const('-RCB-')),
    _Rule('LSB', '\\[', _const('-LSB-')),
    _Rule('RSB', '\\]', _const('-RSB-')),
    _Rule('LRB', '\\(', _const('-LRB-')),
    _Rule('RRB', '\\)', _const('-RRB-')),
    _Rule('HYPHENS', '-+', _hyphens),
    _Rule('LDOTS', LDOTS, _const('...')),
    _Rule('FNMARKS', FNMARKS),
    _Rule('ASTS', ASTS),
    _Rule('INSENTP', INSENTP),
    _Rule('BANGS', '[?!]+'),
    _Rule('PERIOD', '[.\u00A1\u00BF\u037E\u0589\u061F\u06D4\u0700-\u0702\u07FA\u3002]'),
    _Rule('EQUALS', '='),
    _Rule('SLASH', '/'),
    _Rule('HTHING./INSENTP', f'{HTHING}\\.', _map(_no_soft_hyphens), context=INSENTP),
    _Rule('HTHING', HTHING, _map(_no_soft_hyphens)),
    _Rule('THING./INSENTP', f'{THING}\\.', context=INSENTP),
    _Rule('THING', THING),
    _Rule('THINGA./INSENTP', f'{THINGA}\\.', _map(lambda t: _AMP.sub('&', t)), context=INSENTP),
    _Rule('THINGA', THINGA, _map(lambda t: _AMP.sub('&', t))),
    _Rule('QUOTE/left', "'", _map(lambda t: _latex_quotes(t, True)), context='[A-Za-z][^ \t\n\r\u00A0]'),
    _Rule('REDAUX', REDAUX, _map(lambda t: _latex_quotes(t, False))),
    *[_Rule(f'QUOTES{i}', p, _map(lambda t: _latex_quotes(t, False))) for i, p in enumerate(QUOTES)],
    _Rule('FAKEDUCKFEET', '<<|>>'),
    _Rule('MISCSYMBOL', MISCSYMBOL),
    _Rule('SKIP', SKIP, _skip),
    _Rule('NEWLINE', NEWLINE, _skip),
    _Rule('UNTOKENIZABLE', '[\\s\\S]', _skip),
]


class _Lexer:
    """Longest-match-first emulation of the JFlex scanner."""

    def __init__(self, rules: Sequence[_Rule]):
        self.rules = list(rules)
        self._by_first_char: Dict[str, List[_Rule]] = {}

    def _candidates(self, ch: str) -> List[_Rule]:
        rules = self._by_first_char.get(ch)
        if rules is None:
            rules = [r for r in self.rules if r.can_start(ch)]
            self._by_first_char[ch] = rules
        return rules

    def tokens(self, text: str, stop: Optional[int] = None) -> List[str]:
        """Tokens starting before ``stop`` (default: all); text after it is context."""
        out: List[str] = []
        pos = 0
        stop = len(text) if stop is None else stop
        candidates = self._candidates
        while pos < stop:
            m = _SPACES.match(text, pos)  # only the SKIP rule can start on a space
            if m is not None:
                pos = m.end()
                continue
            m = _PLAIN_WORD.match(text, pos)
            if m is not None and _plain_word_is_token(text, m):
                out.append(m.group())
                pos = m.end()
                continue
            m = _PLAIN_PUNCT_OR_DIGITS.match(text, pos)
            if m is not None:
                out.append(m.group())
                pos = m.end()
                continue
            best_total, best_tok, best_rule = 0, 0, None
            for rule in candidates(text[pos]):
                found = rule.match(text, pos)
                if found is not None and found[0] > best_total:
                    best_total, best_tok, best_rule = found[0], found[1], rule
            toks, consumed = best_rule.action(text[pos:pos + best_tok])
            out.extend(toks)
            pos += consumed
        return out


# Shortcuts for the two commonest situations, both provably what the rules give:
# a run of spaces (only SKIP starts with one), and an ASCII word followed by a
# space, the end, or one of , ; : ! ? . followed by a space or the end.
# (Only ' ' and tab: URLs may contain other space characters such as U+00A0.)
_SPACES = re.compile('[ \t]+')
_PLAIN_WORD = re.compile('[A-Za-z]+(?=[ \t\n]|[,;:!?.](?:[ \t\n]|$)|$)')
# ?! runs are always one token; , ; : before a space and . before a space not
# followed by another period are single tokens; ASCII digits before the end, a
# space + non-digit (fractions and phone numbers span one space), or
# punctuation + space are a NUMBER.
_PLAIN_PUNCT_OR_DIGITS = re.compile('[?!]+|[,;:](?=[ \t\n]|$)|\\.(?=$|\n|[ \t][^.\u00A0 ])'
                                    '|[0-9]+(?=$|[ \t][^0-9 \t\u00A0]|[,.;:!?](?:[ \t\n]|$))')
_SPLIT_WORDS = frozenset(['cannot', 'gonna', 'gotta', 'lemme', 'gimme', 'wanna'])
_ABBREV_BEFORE_PERIOD = re.compile(f'(?:{ABBREV1}|{ABBREV2}|{ABBREV3})')


def _plain_word_is_token(text: str, m: 're.Match') -> bool:
    word = m.group()
    if len(word) >= 5 and word.lower() in _SPLIT_WORDS:
        return False
    end = m.end()
    if end < len(text) and text[end] == '.' and _ABBREV_BEFORE_PERIOD.fullmatch(word + '.') is not None:
        return False
    return True


_LEXER = _Lexer(_RULES)

# --------------------------------------------------------------------------
# Fast path: a line of plain ASCII words separated by spaces, with commas after
# words and one final . ! or ?, tokenizes to its lower-cased words.
# --------------------------------------------------------------------------
_SIMPLE_LINE = re.compile(r' *(?:[A-Za-z]+,? +)*[A-Za-z]+(?:,? *| *[.!?] *)')
_SIMPLE_WORD = re.compile(r'[A-Za-z]+')
_OTHER_NEWLINES = re.compile('[\r\u2028\u2029\u000B\u000C]')


def _fast_line(line: str) -> Optional[List[str]]:
    """Lower-cased tokens of a plain line, or None when the full lexer is needed."""
    if _SIMPLE_LINE.fullmatch(line) is None:
        return None
    words = _SIMPLE_WORD.findall(line)
    lowered = [w.lower() for w in words]
    if _SPLIT_WORDS.intersection(lowered):
        return None
    stripped = line.rstrip(' ')
    if stripped.endswith('.') and stripped[-2:-1].isalpha():
        if _ABBREV_BEFORE_PERIOD.fullmatch(words[-1] + '.') is not None:
            return None
    return lowered


# Characters that join a word only when single and between word characters
# (java.text.BreakIterator word rules), used for Java's final-sigma test.
_MID_WORD = frozenset('"\'-._\u00A0\u00AD\u2013\u2014')


def _is_word_char(ch: str) -> bool:
    cat = unicodedata.category(ch)
    if cat[0] in 'LNM' or cat == 'Cf':
        return not ('\u2E80' <= ch <= '\u9FFF' or '\uF900' <= ch <= '\uFAFF')  # ideographs stand alone
    return False


def _joins_word(tok: str, j: int) -> bool:
    """A single punctuation character inside a word (MidLetter / MidNum)."""
    if j == 0 or j + 1 >= len(tok):
        return False
    before, ch, after = unicodedata.category(tok[j - 1]), tok[j], unicodedata.category(tok[j + 1])
    if before[0] in 'LM' and after[0] in 'LM':
        return ch in _MID_WORD or unicodedata.category(ch) == 'Pd'
    if before[0] == 'N' and after[0] == 'N':
        return ch in ".,'"
    return False


def _is_cased(ch: str) -> bool:
    return unicodedata.category(ch) in ('Lu', 'Ll', 'Lt')


def _cased_within_word(tok: str, i: int, step: int) -> bool:
    """Whether a cased letter lies before (step=-1) / after (step=1) tok[i] in its word."""
    j = i + step
    while 0 <= j < len(tok):
        ch = tok[j]
        if _is_cased(ch):
            return True
        if _is_word_char(ch):
            j += step
            continue
        if _joins_word(tok, j):
            j += step
            continue
        return False
    return False


def _lower(tok: str) -> str:
    """Java ``String.toLowerCase(Locale.ENGLISH)``.

    It equals ``str.lower()`` except for the capital sigma, whose final form
    Java decides with word-break rules rather than Unicode's Final_Sigma.
    """
    if '\u03A3' not in tok:
        return tok.lower()
    out = []
    for i, ch in enumerate(tok):
        if ch == '\u03A3':
            final = _cased_within_word(tok, i, -1) and not _cased_within_word(tok, i, 1)
            out.append('\u03C2' if final else '\u03C3')
        else:
            out.append(ch.lower())
    return ''.join(out)


class PTBTokenizer:
    """Drop-in replacement of ``pycocoevalcap.tokenizer.ptbtokenizer.PTBTokenizer``.

    ``tokenize({image_id: [{'caption': str}, ...]})`` returns
    ``{image_id: [tokenized caption, ...]}`` exactly like the Java-backed original
    (lower-cased, PTB-tokenized, punctuation tokens removed), without Java.
    """

    def tokenize(self, captions_for_image: Dict) -> Dict:
        image_ids = [k for k, v in captions_for_image.items() for _ in range(len(v))]
        lines = [c['caption'] for v in captions_for_image.values() for c in v]
        result: Dict = {}
        for k, line in zip(image_ids, tokenize_lines(lines)):
            result.setdefault(k, []).append(line)
        return result


def tokenize_lines(lines: Sequence[str]) -> List[str]:
    """Tokenize captions the way pycocoevalcap does: one output string per caption.

    The captions are joined with newlines like pycocoevalcap writes them for
    Java, because a few rules look past the end of a line (an abbreviation's
    period is doubled when the next line starts with a capital letter).
    """
    cleaned = [_OTHER_NEWLINES.sub(' ', line.replace('\n', ' ')) for line in lines]
    results: List[str] = []
    for i, line in enumerate(cleaned):
        toks = _fast_line(line)
        if toks is None:
            toks = [_lower(t) for t in _line_tokens(line, _following_text(cleaned, i))]
        # pycocoevalcap: ' '.join([w for w in line.rstrip().split(' ') if w not in PUNCTUATIONS])
        joined = ' '.join(toks).rstrip()
        results.append(' '.join(t for t in joined.split(' ') if t not in PUNCTUATIONS))
    return results


def _following_text(lines: Sequence[str], i: int) -> str:
    """Newline + the next lines, up to one line past the first non-blank one."""
    parts, seen_text = [], False
    for j in range(i + 1, len(lines)):
        nxt = lines[j]
        parts.append('\n' + nxt)
        if seen_text:
            break
        seen_text = bool(nxt.strip(' \t\u00A0\u3000'))
    return ''.join(parts)


def _line_tokens(line: str, following: str) -> List[str]:
    """Tokens of ``line``; ``following`` (the next lines) only serves as trailing context."""
    return _LEXER.tokens(line + following, stop=len(line))


def ptb_tokenize(text: str) -> List[str]:
    """PTB tokens of one caption, before lower-casing and punctuation removal."""
    return _LEXER.tokens(_OTHER_NEWLINES.sub(' ', text.replace('\n', ' ')))
