"""The pure-Python PTB tokenizer gives pycocoevalcap's (Java) tokens."""
import random

import pytest

from llava_mm.evaluation import PTBTokenizer, tokenize_lines
from llava_mm.evaluation.caption import ptb_tokenizer

from .caption_corpus import caption_corpus
from .java_reference import java_tokenize_lines, requires_java

# Input -> pycocoevalcap output, recorded from the Java tokenizer.  These run
# without Java and pin down each behaviour (consecutive pairs matter: the last
# four lines show that a line's end depends on how the next line starts).
JAVA_OUTPUTS = [
    ('A man riding a wave on top of a surfboard.', 'a man riding a wave on top of a surfboard'),
    ('A man (in a red shirt) is riding a horse.', 'a man -lrb- in a red shirt -rrb- is riding a horse'),
    ('The colour of the "Bus" isn\'t RED, it\'s blue...', "the colour of the bus is n't red it 's blue"),
    ("I cannot believe it's not butter; we're gonna need a bigger boat",
     "i can not believe it 's not butter we 're gon na need a bigger boat"),
    ("don't won't can't I'm you're we'll they'd I've ain't y'all",
     "do n't wo n't ca n't i 'm you 're we 'll they 'd i 've ai n't y' all"),
    ("a kid's toys and the kids' room", "a kid 's toys and the kids room"),
    ("He said 'hello' and left -- quickly.", 'he said hello and left quickly'),
    ("St. Mary's Church in the U.S. at 3:30 p.m. on Mr. Smith's lawn.",
     "st. mary 's church in the u.s. at 3:30 p.m. on mr. smith 's lawn"),
    ('It costs $1,000.50 or 50% & more [maybe] {really}',
     'it costs $ 1,000.50 or 50 % & more -lsb- maybe -rsb- -lcb- really -rcb-'),
    ('a 1 1/2 inch pipe and 3/4 cup, 5-1/2 feet', 'a 1\xa01/2 inch pipe and 3/4 cup 5-1/2 feet'),
    ('call 555-123-4567 or (555) 123-4567 now', 'call 555-123-4567 or -lrb-555-rrb-\xa0123-4567 now'),
    ('a well-known, state-of-the-art X-ray T-shirt', 'a well-known state-of-the-art x-ray t-shirt'),
    ('“Curly quotes” and ‘single ones’ — em dash – en dash… ellipsis',
     'curly quotes and single ones em dash en dash ellipsis'),
    ('A café in Zürich; crème brûlée', 'a café in zürich crème brûlée'),
    ('€50 £20 ¢5 ½ pizza', '$ 50 # 20 cents 5 1/2 pizza'),
    ('Visit www.google.com or http://example.com/a/b?x=1 today!',
     'visit www.google.com or http://example.com/a/b?x=1 today'),
    ('Hot-dog stand... mustard?! Ketchup!!', 'hot-dog stand mustard ?! ketchup !!'),
    (':) smiley and ^_^ face', ':-rrb- smiley and ^_^ face'),
    ("the 80's and '90s", "the 80 's and '90s"),
    ('Mt. Fuji behind Lake Kawaguchi, Japan.', 'mt. fuji behind lake kawaguchi japan'),
    ('Fig. 3 shows no. 5 of the approx. 10 items', 'fig. 3 shows no. 5 of the approx 10 items'),
    ('a #1 jersey, @friend, c++ and C#', 'a # 1 jersey @friend c++ and c#'),
    ('THE DOG IS RUNNING ON THE BEACH', 'the dog is running on the beach'),
    ('a dog\twith a\xa0ball and\u3000a frisbee', 'a dog with a ball and a frisbee'),
    ('emoji 😀 are dropped', 'emoji are dropped'),
    ('', ''),
    ('   ', ''),
    ('.', ''),
    ('Ελλάδα ΟΔΟΣ', 'ελλάδα οδος'),
    ('A plan B.', 'a plan b'),  # next line starts with "The": B's period is a sentence end
    ('The end', 'the end'),
    ('A plan B.', 'a plan b.'),  # next line starts lower case: "B." stays an abbreviation
    ('the end', 'the end'),
]


def test_known_java_outputs():
    lines = [line for line, _ in JAVA_OUTPUTS]
    assert tokenize_lines(lines) == [expected for _, expected in JAVA_OUTPUTS]


def test_drop_in_for_pycocoevalcap_tokenizer():
    captions = {7: [{'caption': 'A Dog, running.'}, {'caption': "It's fine"}], 3: [{'caption': ''}]}
    assert PTBTokenizer().tokenize(captions) == {7: ['a dog running', "it 's fine"], 3: ['']}


def test_newline_inside_caption_is_a_space():
    assert tokenize_lines(['two\nlines', 'next']) == ['two lines', 'next']


def _adversarial_lines(n, seed):
    """Token soup: fragments that stress specific lexer rules, glued with odd spacing."""
    fragments = """a The man dog's dogs' isn't can't won't cannot gonna wanna 'tis 'twas I'm y'all O'Neil
    rock'n'roll
    St. Mr. Dr. U.S. p.m. e.g. etc. Inc. Co. Ltd. No. no. fig. vs. Jan. Ave. Jr. Ph.D. a.k.a. B. I.
    ( ) [ ] { } < > " ' ` `` '' ‘ ’ “ ” « » ... … . , ; : ! ? !! ?! - -- --- — – _ / \\ | * & &amp; # @ $ % + =
    1 10 1,000 3.5 .5 -5 3:30 1/2 1 1/2 12/25/2010 1990s '90s 80's 2nd 5km 4x4 $5 50% 90° ½ x²
    555-123-4567 (555) 123-4567 www.google.com http://x.org/a?b=1 foo@bar.com #tag @user c++ :) ^_^
    well-known state-of-the-art co-op café Zürich Ελλάδα Москва 東京 AT&T S&P-500 <b> </b> &quot; &nbsp;
    Yahoo! what?No ball.The a.b.c 2.5-3.0 12:30pm 6' 5'10" file.txt co\u00adop \u200b \x7f""".split()
    seps = [' '] * 6 + ['', '  ', '\t', '\u00a0', '\u3000']
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        parts = []
        for i in range(rng.randint(0, 12)):
            parts += [rng.choice(fragments), rng.choice(seps)]
        lines.append(''.join(parts[:-1]))
    return lines


def _char_soup(n, seed):
    chars = [chr(c) for c in range(32, 127)]
    chars += list('’‘“”…—–\u00a0é½°ßΣЖ東\u0301\u00ad€£«»😀')
    rng = random.Random(seed)
    return [''.join(rng.choice(chars) for _ in range(rng.randint(0, 30))) for _ in range(n)]


@requires_java
@pytest.mark.parametrize('name, lines', [
    ('captions', caption_corpus(2500, seed=3)),
    ('fragments', _adversarial_lines(1500, seed=4)),
    ('characters', _char_soup(1500, seed=5)),
])
def test_same_tokens_as_java_line_by_line(name, lines):
    """The strongest check: every line of a large varied corpus, string by string."""
    expected = java_tokenize_lines(lines)
    got = tokenize_lines(lines)
    mismatches = [(line, e, g) for line, e, g in zip(lines, expected, got) if e != g]
    assert not mismatches, f'{len(mismatches)} {name} lines differ, e.g. {mismatches[:3]}'


def test_shortcuts_agree_with_the_full_lexer(monkeypatch):
    """The fast paths are optimisations only: disabling them changes nothing."""
    lines = caption_corpus(800, seed=6) + _adversarial_lines(400, seed=7)
    with_shortcuts = tokenize_lines(lines)
    monkeypatch.setattr(ptb_tokenizer, '_fast_line', lambda line: None)
    monkeypatch.setattr(ptb_tokenizer, '_PLAIN_WORD', ptb_tokenizer.re.compile('(?!)'))
    monkeypatch.setattr(ptb_tokenizer, '_PLAIN_PUNCT_OR_DIGITS', ptb_tokenizer.re.compile('(?!)'))
    monkeypatch.setattr(ptb_tokenizer, '_SPACES', ptb_tokenizer.re.compile('(?!)'))
    assert tokenize_lines(lines) == with_shortcuts
