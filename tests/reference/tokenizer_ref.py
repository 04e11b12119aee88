#!/usr/bin/python3
"""Reference CLIP tokenizer in plain Python, and the generator of the tokenizer test data.

The tokenizer is a port of clip.md §9 (openai/CLIP clip/simple_tokenizer.py and clip.tokenize):
byte map, merges from bpe_simple_vocab_16e6.txt.gz, html.unescape twice, strip, whitespace
collapse, str.lower(), the pre-tokenizer regex, rank-ordered merges, SOT/EOT framing. Two things
differ from the original because Debian's python3 packages neither:

  * ftfy is NOT applied. The reference cases are therefore texts on which ftfy changes nothing
    that matters; this is checked, case by case, against an emulation of ftfy 6's fixes (every
    step except mojibake repair, see ftfy_subset below). The ftfy subset that the C code
    implements is tested separately, on inputs paired with hand-written fixed texts.
  * the `regex` module is not available: the pattern
        <\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+
    (re.IGNORECASE) is emulated by a hand-written scanner, \\p{L} and \\p{N} being the unicodedata
    general categories L* and N*.

Usage, from the repository root:

    /usr/bin/python3 tests/reference/tokenizer_ref.py                 # writes tests/data/tokenizer_*
    /usr/bin/python3 tests/reference/tokenizer_ref.py "a photo of a cat" # prints ids

Files written (one case per line; texts use the escapes \\\\ \\n \\t \\r and \\u{HEX}):
  tokenizer_cases.txt / tokenizer_expected.txt   text / ids from SOT to EOT (may exceed 77)
  tokenizer_ftfy_cases.txt / tokenizer_ftfy_expected.txt
                                                 input TAB hand-fixed text / ids of the fixed text
  tokenizer_clean_cases.txt                      input TAB cleaned text (Unicode tables, HTML)
"""
import gzip
import html
import html.entities
import os
import re
import sys
import unicodedata

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
VOCAB = os.path.join(ROOT, "data", "clip", "bpe_simple_vocab_16e6.txt.gz")
SOT, EOT = 49406, 49407


# ------------------------------------------------------------------------------------------------
# the tokenizer (clip.md §9)

def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def get_pairs(word):
    return {(word[i], word[i + 1]) for i in range(len(word) - 1)}


def basic_clean(text):
    # ftfy.fix_text(text) would come first in CLIP; see the module docstring
    text = html.unescape(html.unescape(text))
    return text.strip()


def whitespace_clean(text):
    text = re.sub(r"\s+", " ", text)
    return text.strip()


def clean(text):
    return whitespace_clean(basic_clean(text)).lower()


# Unicode White_Space, what \s means in the pattern (after whitespace_clean only ' ' is left)
WHITE_SPACE = set("\t\n\x0b\x0c\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | \
    {chr(c) for c in range(0x2000, 0x200B)}


def is_letter(ch):
    return unicodedata.category(ch)[0] == "L"


def is_number(ch):
    return unicodedata.category(ch)[0] == "N"


def match_ci(text, i, lit):
    """re.IGNORECASE match of the lowercase literal lit at text[i]: a character matches a letter
    when equal to it or when it case-folds to it (so the long s "\u017f" matches "s", as in re
    and regex with IGNORECASE)"""
    if i + len(lit) > len(text):
        return False
    return all(t == c or t.casefold() == c for t, c in zip(text[i:i + len(lit)], lit))


def pretokenize(text):
    """findall of the CLIP pattern with re.IGNORECASE, emulated (text is already lowercased)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        hit = None
        for lit in ("<|startoftext|>", "<|endoftext|>", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d"):
            if match_ci(text, i, lit):
                hit = lit
                break
        if hit:
            out.append(text[i:i + len(hit)])
            i += len(hit)
            continue
        ch = text[i]
        if is_letter(ch):
            j = i
            while j < n and is_letter(text[j]):
                j += 1
            out.append(text[i:j])
            i = j
        elif is_number(ch):
            out.append(ch)
            i += 1
        elif ch in WHITE_SPACE:
            i += 1
        else:
            j = i
            while j < n and not (is_letter(text[j]) or is_number(text[j]) or text[j] in WHITE_SPACE):
                j += 1
            out.append(text[i:j])
            i = j
    return out


class Tokenizer:
    def __init__(self, bpe_path=VOCAB):
        self.byte_encoder = bytes_to_unicode()
        merges = gzip.open(bpe_path).read().decode("utf-8").split("\n")
        merges = merges[1:49152 - 256 - 2 + 1]
        merges = [tuple(m.split()) for m in merges]
        vocab = list(bytes_to_unicode().values())
        vocab = vocab + [v + "</w>" for v in vocab]
        for merge in merges:
            vocab.append("".join(merge))
        vocab.extend(["<|startoftext|>", "<|endoftext|>"])
        self.vocab = vocab
        self.encoder = dict(zip(vocab, range(len(vocab))))
        self.bpe_ranks = dict(zip(merges, range(len(merges))))
        self.cache = {"<|startoftext|>": "<|startoftext|>", "<|endoftext|>": "<|endoftext|>"}

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token[:-1]) + (token[-1] + "</w>",)
        pairs = get_pairs(word)
        if not pairs:
            return token + "</w>"
        while True:
            bigram = min(pairs, key=lambda pair: self.bpe_ranks.get(pair, float("inf")))
            if bigram not in self.bpe_ranks:
                break
            first, second = bigram
            new_word = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                    new_word.extend(word[i:j])
                    i = j
                except ValueError:
                    new_word.extend(word[i:])
                    break
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
            if len(word) == 1:
                break
            pairs = get_pairs(word)
        word = " ".join(word)
        self.cache[token] = word
        return word

    def encode(self, text):
        bpe_tokens = []
        for token in pretokenize(clean(text)):
            token = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            bpe_tokens.extend(self.encoder[t] for t in self.bpe(token).split(" "))
        return bpe_tokens

    def tokenize(self, text):
        """ids from SOT to EOT, without padding and without the 77 limit"""
        return [SOT] + self.encode(text) + [EOT]


# ------------------------------------------------------------------------------------------------
# an emulation of ftfy 6 fix_text without fix_encoding (the subset core/text/tokenizer_clean.c does),
# used only to choose and to check test cases

def _html_entities():
    ents = {}
    for name, char in html.entities.html5.items():
        if name.endswith(";"):
            ents["&" + name] = char
            if name == name.lower():
                up = "&" + name.upper()
                if html.unescape(up) == up:
                    ents[up] = char.upper()
    return ents


_ENTS = _html_entities()
_ENTITY_RE = re.compile(r"&#?[0-9A-Za-z]{1,24};")


def _unescape_fixup(m):
    t = m.group(0)
    if t in _ENTS:
        return _ENTS[t]
    if t.startswith("&#"):
        u = html.unescape(t)
        return t if ";" in u else u
    return t


def _sloppy1252(ch):
    try:
        return bytes([ord(ch)]).decode("cp1252")
    except UnicodeDecodeError:
        return ch


_LIG = {0x132: "IJ", 0x133: "ij", 0x149: "\u02bcn", 0x1F1: "DZ", 0x1F2: "Dz", 0x1F3: "dz",
        0x1C4: "D\u017d", 0x1C5: "D\u017e", 0x1C6: "d\u017e", 0x1C7: "LJ", 0x1C8: "Lj",
        0x1C9: "lj", 0x1CA: "NJ", 0x1CB: "Nj", 0x1CC: "nj", 0xFB00: "ff", 0xFB01: "fi",
        0xFB02: "fl", 0xFB03: "ffi", 0xFB04: "ffl", 0xFB05: "\u017ft", 0xFB06: "st"}
_WIDTH = {0x3000: " "}
for _c in range(0xFF01, 0xFFF0):
    _a = unicodedata.normalize("NFKC", chr(_c))
    if _a != chr(_c):
        _WIDTH[_c] = _a
_CONTROL = {c: None for c in list(range(0, 9)) + [0x0B] + list(range(0x0E, 0x20)) + [0x7F] +
            list(range(0x206A, 0x2070)) + [0xFEFF] + list(range(0xFFF9, 0xFFFD))}
_ANSI_RE = re.compile("\033\\[((?:\\d|;)*)([a-zA-Z])")


def _fix_segment(text, unescape):
    while True:
        orig = text
        if unescape:
            text = _ENTITY_RE.sub(_unescape_fixup, text)
        text = re.sub("[\x80-\x9f]", lambda m: _sloppy1252(m.group(0)), text)
        text = text.translate(_LIG)
        text = text.translate(_WIDTH)
        text = re.sub("[\u201c-\u201f]", '"', text)
        text = re.sub("[\u02bc\u2018-\u201b]", "'", text)
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n") \
            .replace("\u2029", "\n").replace("\u0085", "\n")
        text = _ANSI_RE.sub("", text)
        text = text.translate(_CONTROL)
        text = unicodedata.normalize("NFC", text)
        if text == orig:
            return text


def ftfy_subset(text):
    out, pos, unescape = [], 0, True
    while pos < len(text):
        brk = text.find("\n", pos) + 1
        if brk == 0:
            brk = len(text)
        seg = text[pos:brk]
        if "<" in seg:
            unescape = False
        out.append(_fix_segment(seg, unescape))
        pos = brk
    return "".join(out)


def clean_with_ftfy_subset(text):
    return whitespace_clean(basic_clean(ftfy_subset(text))).lower()


# ------------------------------------------------------------------------------------------------
# test data

def esc(s):
    out = []
    for ch in s:
        if ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ch == " " or (ch.isprintable() and unicodedata.category(ch) not in ("Co", "Cs")):
            out.append(ch)
        else:
            out.append("\\u{%X}" % ord(ch))
    # keep leading and trailing spaces visible (and safe from editors)
    if out and out[0] == " ":
        out[0] = "\\u{20}"
    if len(out) > 1 and out[-1] == " ":
        out[-1] = "\\u{20}"
    return "".join(out)


# clip.md §9.7 and protocol.md §1.2, with their expected ids
SPEC_VECTORS = [
    ("a photo of a cat", [49406, 320, 1125, 539, 320, 2368, 49407]),
    ("a photo of a cat.", [49406, 320, 1125, 539, 320, 2368, 269, 49407]),
    ("a photo of a dog", [49406, 320, 1125, 539, 320, 1929, 49407]),
    ("A PHOTO of  a Cat!", [49406, 320, 1125, 539, 320, 2368, 256, 49407]),
    ("Hello, world!", [49406, 3306, 267, 1002, 256, 49407]),
    ("don't stop 42 times", [49406, 847, 713, 1691, 275, 273, 1661, 49407]),
    ("cafe uber naive", [49406, 4979, 10668, 43362, 49407]),
    ("hello-world, 3.14 (test)", [49406, 3306, 268, 1002, 267, 274, 269, 272, 275, 263, 1628, 264, 49407]),
    ("café über naïve", [49406, 15304, 6522, 1516, 1097, 35689, 563, 49407]),
    ("  spaced   out  ", [49406, 10336, 538, 620, 49407]),
    ("cat", [49406, 2368, 49407]),
    ("car", [49406, 1615, 49407]),
    ("beach", [49406, 2117, 49407]),
    ("sunset", [49406, 3424, 49407]),
    ("X X X X a photo of a cat.", [49406, 343, 343, 343, 343, 320, 1125, 539, 320, 2368, 269, 49407]),
    ("a photo of a Boeing 737-200, a type of aircraft.",
     [49406, 320, 1125, 539, 320, 11857, 278, 274, 278, 268, 273, 271, 271, 267, 320, 3877, 539, 7706, 269, 49407]),
    ("a bad photo of the   tench.", [49406, 320, 2103, 1125, 539, 518, 1149, 634, 269, 49407]),
    ("a centered satellite photo of AnnualCrop.", [49406, 320, 24584, 10316, 1125, 539, 21698, 526, 9955, 269, 49407]),
    ("it's a test", [49406, 585, 568, 320, 1628, 49407]),
    ("a 'sand' dune", [49406, 320, 568, 537, 262, 28208, 49407]),
    ("rock'n'roll", [49406, 2172, 262, 333, 262, 3341, 49407]),
    ("hello...world", [49406, 3306, 678, 1002, 49407]),
    ("a" * 18, [49406, 23126, 23126, 3894, 49407]),
    ("\U0001F431", [49406, 22979, 49407]),
    ("\U0001F431\U0001F436!!", [49406, 35710, 14466, 748, 49407]),
    ("", [49406, 49407]),
    ("a photo of a cat&amp;dog", [49406, 320, 1125, 539, 320, 2368, 261, 1929, 49407]),
    # protocol.md §1.2
    ("a photo of a face.", [49406, 320, 1125, 539, 320, 1710, 269, 49407]),
    ("a photo of a Annual Crop Land.", [49406, 320, 1125, 539, 320, 2906, 9955, 973, 269, 49407]),
    ("X " * 16 + "airplane.", [49406] + [343] * 16 + [16451, 269, 49407]),
]
# ＡＢＣ without ftfy (§9.7); with ftfy (and in the C code) it becomes "abc"
FULLWIDTH_NO_FTFY = ("\uff21\uff22\uff23", [49406, 171, 121, 223, 171, 121, 224, 171, 121, 481, 49407])
SPEC_TOKEN_COUNTS = [("airplane", 1), ("Annual Crop Land", 3), ("Apply Eye Makeup", 3), ("2012 Audi S4 Sedan", 8)]

TEMPLATES = {
    "OxfordPets": "a photo of a {}, a type of pet.",
    "OxfordFlowers": "a photo of a {}, a type of flower.",
    "FGVCAircraft": "a photo of a {}, a type of aircraft.",
    "DescribableTextures": "{} texture.",
    "EuroSAT": "a centered satellite photo of {}.",
    "StanfordCars": "a photo of a {}.",
    "Food101": "a photo of {}, a type of food.",
    "SUN397": "a photo of a {}.",
    "Caltech101": "a photo of a {}.",
    "UCF101": "a photo of a person doing {}.",
    "ImageNet": "a photo of a {}.",
}
IMAGENET_ENSEMBLE = ["itap of a {}.", "a bad photo of the {}.", "a origami {}.", "a photo of the large {}.",
                     "a {} in a video game.", "art of the {}.", "a photo of the small {}."]

CLASSNAMES = {
    "ImageNet": [
        "tench", "goldfish", "great white shark", "tiger shark", "hammerhead shark", "electric ray",
        "stingray", "rooster", "hen", "ostrich", "brambling", "goldfinch", "house finch", "junco",
        "indigo bunting", "American robin", "bulbul", "jay", "magpie", "chickadee", "American dipper",
        "kite (bird of prey)", "bald eagle", "vulture", "great grey owl", "fire salamander", "smooth newt",
        "eft", "spotted salamander", "axolotl", "American bullfrog", "tree frog", "tailed frog",
        "loggerhead sea turtle", "leatherback sea turtle", "mud turtle", "terrapin", "box turtle",
        "banded gecko", "green iguana", "Carolina anole", "desert grassland whiptail lizard", "agama",
        "frilled-necked lizard", "alligator lizard", "Gila monster", "European green lizard", "chameleon",
        "Komodo dragon", "Nile crocodile", "American alligator", "triceratops", "worm snake",
        "ring-necked snake", "eastern hog-nosed snake", "smooth green snake", "kingsnake", "garter snake",
        "water snake", "vine snake", "night snake", "boa constrictor", "African rock python", "Indian cobra",
        "green mamba", "sea snake", "Saharan horned viper", "eastern diamondback rattlesnake",
        "sidewinder rattlesnake", "trilobite", "harvestman", "scorpion", "yellow garden spider",
        "barn spider", "European garden spider", "southern black widow", "tarantula", "wolf spider",
        "tick", "centipede", "black grouse", "ptarmigan", "ruffed grouse", "prairie grouse", "peafowl",
        "quail", "partridge", "african grey parrot", "macaw", "sulphur-crested cockatoo", "lorikeet",
        "coucal", "bee eater", "hornbill", "hummingbird", "jacamar", "toucan", "duck",
        "red-breasted merganser", "goose", "black swan", "tusker", "echidna", "platypus", "jellyfish",
        "sea anemone", "brain coral", "flatworm", "nematode", "conch", "snail", "slug", "sea slug",
        "chiton", "chambered nautilus", "Dungeness crab", "rock crab", "fiddler crab", "red king crab",
        "American lobster", "spiny lobster", "crayfish", "hermit crab", "isopod", "white stork",
        "black stork", "spoonbill", "flamingo", "little blue heron", "great egret", "bittern bird",
        "crane bird", "limpkin", "common gallinule", "American coot", "bustard", "ruddy turnstone",
        "dunlin", "common redshank", "dowitcher", "oystercatcher", "pelican", "king penguin", "albatross",
        "grey whale", "killer whale", "dugong", "sea lion", "Chihuahua", "Japanese Chin", "Maltese",
        "Pekingese", "Shih Tzu", "King Charles Spaniel", "Papillon", "toy terrier", "Rhodesian Ridgeback",
        "Afghan Hound", "Basset Hound", "Beagle", "Bloodhound", "Bluetick Coonhound",
        "Black and Tan Coonhound", "Treeing Walker Coonhound", "English foxhound", "Redbone Coonhound",
        "borzoi", "Irish Wolfhound", "Italian Greyhound", "Whippet", "Ibizan Hound", "Norwegian Elkhound",
        "Otterhound", "Saluki", "Scottish Deerhound", "Weimaraner", "Staffordshire Bull Terrier",
        "American Staffordshire Terrier", "Bedlington Terrier", "Border Terrier", "Kerry Blue Terrier",
        "Irish Terrier", "Norfolk Terrier", "Norwich Terrier", "Yorkshire Terrier", "Wire Fox Terrier",
        "Lakeland Terrier", "Sealyham Terrier", "Airedale Terrier", "Cairn Terrier", "Australian Terrier",
        "Dandie Dinmont Terrier", "Boston Terrier", "Miniature Schnauzer", "Giant Schnauzer",
        "Standard Schnauzer", "Scottish Terrier", "Tibetan Terrier", "Australian Silky Terrier",
        "Soft-coated Wheaten Terrier", "West Highland White Terrier", "Lhasa Apso",
        "Flat-Coated Retriever", "Curly-coated Retriever", "Golden Retriever", "Labrador Retriever",
        "Chesapeake Bay Retriever", "German Shorthaired Pointer", "Vizsla", "English Setter",
        "Irish Setter", "Gordon Setter", "Brittany dog", "Clumber Spaniel", "English Springer Spaniel",
        "Welsh Springer Spaniel", "Cocker Spaniel", "Sussex Spaniel", "Irish Water Spaniel", "Kuvasz",
        "Schipperke", "Groenendael dog", "Malinois", "Briard", "Australian Kelpie", "Komondor",
        "Old English Sheepdog", "Shetland Sheepdog", "collie", "Border Collie", "Bouvier des Flandres dog",
        "Rottweiler", "German Shepherd Dog", "Dobermann", "Miniature Pinscher",
        "Greater Swiss Mountain Dog", "Bernese Mountain Dog", "Appenzeller Sennenhund",
        "Entlebucher Sennenhund", "Boxer", "Bullmastiff", "Tibetan Mastiff", "French Bulldog",
        "Great Dane", "St. Bernard", "husky", "Alaskan Malamute", "Siberian Husky", "Dalmatian",
        "Affenpinscher", "Basenji", "pug", "Leonberger", "Newfoundland dog", "Great Pyrenees dog",
        "Samoyed", "Pomeranian", "Chow Chow", "Keeshond", "brussels griffon", "Pembroke Welsh Corgi",
        "Cardigan Welsh Corgi", "Toy Poodle", "Miniature Poodle", "Standard Poodle",
        "Mexican hairless dog (xoloitzcuintli)", "grey wolf", "Alaskan tundra wolf",
        "red wolf or maned wolf", "coyote", "dingo", "dhole", "African wild dog", "hyena", "red fox",
        "kit fox", "Arctic fox", "grey fox", "tabby cat", "tiger cat", "Persian cat", "Siamese cat",
        "Egyptian Mau", "cougar", "lynx", "leopard", "snow leopard", "jaguar", "lion", "tiger", "cheetah",
        "brown bear", "American black bear", "polar bear", "sloth bear", "mongoose", "meerkat",
        "tiger beetle", "ladybug", "ground beetle", "longhorn beetle", "leaf beetle", "dung beetle",
        "rhinoceros beetle", "weevil", "fly", "bee", "ant", "grasshopper", "cricket insect",
        "stick insect", "cockroach", "praying mantis", "cicada", "leafhopper", "lacewing", "dragonfly",
        "damselfly", "red admiral butterfly", "ringlet butterfly", "monarch butterfly",
        "small white butterfly", "sulphur butterfly", "gossamer-winged butterfly", "starfish",
        "sea urchin", "sea cucumber", "cottontail rabbit", "hare", "Angora rabbit", "hamster",
        "porcupine", "fox squirrel", "marmot", "beaver", "guinea pig", "common sorrel horse", "zebra",
        "pig", "wild boar", "warthog", "hippopotamus", "ox", "water buffalo", "bison", "ram (adult male sheep)",
        "bighorn sheep", "Alpine ibex", "hartebeest", "impala (antelope)", "gazelle", "arabian camel",
        "llama", "weasel", "mink", "European polecat", "black-footed ferret", "otter", "skunk", "badger",
        "armadillo", "three-toed sloth", "orangutan", "gorilla", "chimpanzee", "gibbon", "siamang",
        "guenon", "patas monkey", "baboon", "macaque", "langur", "black-and-white colobus",
        "proboscis monkey", "marmoset", "white-headed capuchin", "howler monkey", "titi monkey",
        "Geoffroy's spider monkey", "common squirrel monkey", "ring-tailed lemur", "indri",
        "Asian elephant", "African bush elephant", "red panda", "giant panda", "snoek fish", "eel",
        "silver salmon", "rock beauty fish", "clownfish", "sturgeon", "gar fish", "lionfish", "pufferfish",
        "abacus", "abaya", "academic gown", "accordion", "acoustic guitar", "aircraft carrier", "airliner",
        "airship", "altar", "ambulance", "amphibious vehicle", "analog clock", "apiary", "apron",
        "trash can", "assault rifle", "backpack", "bakery", "balance beam", "balloon", "ballpoint pen",
        "Band-Aid", "banjo", "baluster / handrail", "barbell", "barber chair", "barbershop", "barn",
        "barometer", "barrel", "wheelbarrow", "baseball", "basketball", "bassinet", "bassoon",
        "swimming cap", "bath towel", "bathtub", "station wagon", "lighthouse", "beaker",
        "military hat (bearskin or shako)", "beer bottle", "beer glass", "bell tower", "baby bib",
        "tandem bicycle", "bikini", "ring binder", "binoculars", "birdhouse", "boathouse", "bobsleigh",
        "bolo tie", "poke bonnet", "bookcase", "bookstore", "bottle cap", "hunting bow", "bow tie",
        "brass memorial plaque", "bra", "breakwater", "breastplate", "broom", "bucket", "buckle",
        "bulletproof vest", "high-speed train", "butcher shop", "taxicab", "cauldron", "candle", "cannon",
        "canoe", "can opener", "cardigan", "car mirror", "carousel", "tool kit", "cardboard box / carton",
        "car wheel", "automated teller machine", "cassette", "cassette player", "castle", "catamaran",
        "CD player", "cello", "mobile phone", "chain", "chain-link fence", "chain mail", "chainsaw",
        "storage chest", "chiffonier", "bell or wind chime", "china cabinet", "Christmas stocking",
        "church", "movie theater", "cleaver", "cliff dwelling", "cloak", "clogs", "cocktail shaker",
        "coffee mug", "coffeemaker", "spiral or coil", "combination lock", "computer keyboard",
        "candy store", "container ship", "convertible", "corkscrew", "cornet", "cowboy boot",
        "cowboy hat", "cradle", "construction crane", "crash helmet", "crate", "infant bed", "Crock Pot",
        "croquet ball", "crutch", "cuirass", "dam", "desk", "desktop computer", "rotary dial telephone",
        "diaper", "digital clock", "digital watch", "dining table", "dishcloth", "dishwasher",
        "disc brake", "dock", "dog sled", "dome", "doormat", "drilling rig", "drum", "drumstick",
        "dumbbell", "Dutch oven", "electric fan", "electric guitar", "electric locomotive",
        "entertainment center", "envelope", "espresso machine", "face powder", "feather boa",
        "filing cabinet", "fireboat", "fire truck", "fire screen", "flagpole", "flute", "folding chair",
        "football helmet", "forklift", "fountain", "fountain pen", "four-poster bed", "freight car",
        "French horn", "frying pan", "fur coat", "garbage truck", "gas mask or respirator", "gas pump",
        "goblet", "go-kart", "golf ball", "golf cart", "gondola", "gong", "gown", "grand piano",
        "greenhouse", "radiator grille", "grocery store", "guillotine", "hair clip", "hair spray",
        "half-track", "hammer", "hamper", "hair dryer", "hand-held computer", "handkerchief",
        "hard disk drive", "harmonica", "harp", "combine harvester", "hatchet", "holster", "home theater",
        "honeycomb", "hook", "hoop skirt", "gymnastic horizontal bar", "horse-drawn vehicle", "hourglass",
        "iPod", "clothes iron", "carved pumpkin", "jeans", "jeep", "T-shirt", "jigsaw puzzle", "rickshaw",
        "joystick", "kimono", "knee pad", "knot", "lab coat", "ladle", "lampshade", "laptop computer",
        "lawn mower", "lens cap", "letter opener", "library", "lifeboat", "lighter", "limousine",
        "ocean liner", "lipstick", "slip-on shoe", "lotion", "music speaker", "loupe magnifying glass",
        "sawmill", "magnetic compass", "messenger bag", "mailbox", "tights", "one-piece bathing suit",
        "manhole cover", "maraca", "marimba", "mask", "matchstick", "maypole", "maze", "measuring cup",
        "medicine cabinet", "megalith", "microphone", "microwave oven", "military uniform", "milk can",
        "minibus", "miniskirt", "minivan", "missile", "mitten", "mixing bowl", "mobile home",
        "ford model t", "modem", "monastery", "monitor", "moped", "mortar and pestle", "graduation cap",
        "mosque", "mosquito net", "vespa", "mountain bike", "tent", "computer mouse", "mousetrap",
        "moving van", "muzzle", "metal nail", "neck brace", "necklace", "baby pacifier",
        "notebook computer", "obelisk", "oboe", "ocarina", "odometer", "oil filter", "pipe organ",
        "oscilloscope", "overskirt", "bullock cart", "oxygen mask", "product packet / packaging",
        "paddle", "paddle wheel", "padlock", "paintbrush", "pajamas", "palace", "pan flute",
        "paper towel", "parachute", "parallel bars", "park bench", "parking meter", "railroad car",
        "patio", "payphone", "pedestal", "pencil case", "pencil sharpener", "perfume", "Petri dish",
        "photocopier", "plectrum", "Pickelhaube", "picket fence", "pickup truck", "pier", "piggy bank",
        "pill bottle", "pillow", "ping-pong ball", "pinwheel", "pirate ship", "drink pitcher",
        "block plane", "planetarium", "plastic bag", "plate rack", "farm plow", "plunger",
        "Polaroid camera", "pole", "police van", "poncho", "pool table", "soda bottle", "plant pot",
        "potter's wheel", "power drill", "prayer rug", "printer", "prison", "projector", "hockey puck",
        "punching bag", "purse", "quill", "quilt", "race car", "racket", "radiator", "radio",
        "radio telescope", "rain barrel", "recreational vehicle", "fishing casting reel",
        "reflex camera", "refrigerator", "remote control", "restaurant", "revolver", "rifle",
        "rocking chair", "rotisserie", "eraser", "rugby ball", "ruler measuring stick", "sneaker", "safe",
        "safety pin", "salt shaker", "sandal", "sarong", "saxophone", "scabbard", "weighing scale",
        "school bus", "schooner", "scoreboard", "CRT monitor", "screw", "screwdriver", "seat belt",
        "sewing machine", "shield", "shoe store", "shoji screen / room divider", "shopping basket",
        "shopping cart", "shovel", "shower cap", "shower curtain", "ski", "balaclava ski mask",
        "sleeping bag", "slide rule", "sliding door", "slot machine", "snorkel", "snowmobile",
        "snowplow", "soap dispenser", "soccer ball", "sock", "solar thermal collector", "sombrero",
        "soup bowl", "keyboard space bar", "space heater", "space shuttle", "spatula", "motorboat",
        "spider web", "spindle", "sports car", "spotlight", "stage", "steam locomotive",
        "through arch bridge", "steel drum", "stethoscope", "scarf", "stone wall", "stopwatch", "stove",
        "strainer", "tram", "stretcher", "couch", "stupa", "submarine", "suit", "sundial", "sunglasses",
        "sunscreen", "suspension bridge", "mop", "sweatshirt", "swim trunks / shorts", "swing",
        "electrical switch", "syringe", "table lamp", "tank", "tape player", "teapot", "teddy bear",
        "television", "tennis ball", "thatched roof", "front curtain", "thimble", "threshing machine",
        "throne", "tile roof", "toaster", "tobacco shop", "toilet seat", "torch", "totem pole",
        "tow truck", "toy store", "tractor", "semi-trailer truck", "tray", "trench coat", "tricycle",
        "trimaran", "tripod", "triumphal arch", "trolleybus", "trombone", "hot tub", "turnstile",
        "typewriter keyboard", "umbrella", "unicycle", "upright piano", "vacuum cleaner", "vase",
        "vaulted or arched ceiling", "velvet fabric", "vending machine", "vestment", "viaduct", "violin",
        "volleyball", "waffle iron", "wall clock", "wallet", "wardrobe", "military aircraft", "sink",
        "washing machine", "water bottle", "water jug", "water tower", "whiskey jug", "whistle",
        "hair wig", "window screen", "window shade", "Windsor tie", "wine bottle", "airplane wing",
        "wok", "wooden spoon", "wool", "split-rail fence", "shipwreck", "sailboat", "yurt", "website",
        "comic book", "crossword", "traffic or street sign", "traffic light", "dust jacket", "menu",
        "plate", "guacamole", "consomme", "hot pot", "trifle", "ice cream", "popsicle", "baguette",
        "bagel", "pretzel", "cheeseburger", "hot dog", "mashed potatoes", "cabbage", "broccoli",
        "cauliflower", "zucchini", "spaghetti squash", "acorn squash", "butternut squash", "cucumber",
        "artichoke", "bell pepper", "cardoon", "mushroom", "Granny Smith apple", "strawberry", "orange",
        "lemon", "fig", "pineapple", "banana", "jackfruit", "cherimoya (custard apple)", "pomegranate",
        "hay", "carbonara", "chocolate syrup", "dough", "meatloaf", "pizza", "pot pie", "burrito",
        "red wine", "espresso", "tea cup", "eggnog", "mountain", "bubble", "cliff", "coral reef",
        "geyser", "lakeshore", "promontory", "sandbar", "beach", "valley", "volcano", "baseball player",
        "bridegroom", "scuba diver", "rapeseed", "daisy", "yellow lady's slipper", "corn", "acorn",
        "rose hip", "horse chestnut seed", "coral fungus", "agaric", "gyromitra", "stinkhorn mushroom",
        "earth star fungus", "hen of the woods mushroom", "bolete", "corn cob", "toilet paper",
    ],
    "Caltech101": [
        "accordion", "airplane", "anchor", "ant", "barrel", "bass", "beaver", "binocular", "bonsai",
        "brain", "brontosaurus", "buddha", "butterfly", "camera", "cannon", "car_side", "ceiling_fan",
        "cellphone", "chair", "chandelier", "cougar_body", "cougar_face", "crab", "crayfish", "crocodile",
        "crocodile_head", "cup", "dalmatian", "dollar_bill", "dolphin", "dragonfly", "electric_guitar",
        "elephant", "emu", "euphonium", "ewer", "face", "ferry", "flamingo", "flamingo_head", "garfield",
        "gerenuk", "gramophone", "grand_piano", "hawksbill", "headphone", "hedgehog", "helicopter", "ibis",
        "inline_skate", "joshua_tree", "kangaroo", "ketch", "lamp", "laptop", "leopard", "llama",
        "lobster", "lotus", "mandolin", "mayfly", "menorah", "metronome", "minaret", "motorbike",
        "nautilus", "octopus", "okapi", "pagoda", "panda", "pigeon", "pizza", "platypus", "pyramid",
        "revolver", "rhino", "rooster", "saxophone", "schooner", "scissors", "scorpion", "sea_horse",
        "snoopy", "soccer_ball", "stapler", "starfish", "stegosaurus", "stop_sign", "strawberry",
        "sunflower", "tick", "trilobite", "umbrella", "watch", "water_lilly", "wheelchair", "wild_cat",
        "windsor_chair", "wrench", "yin_yang",
    ],
    "OxfordPets": [
        "abyssinian", "american_bulldog", "american_pit_bull_terrier", "basset_hound", "beagle", "bengal",
        "birman", "bombay", "boxer", "british_shorthair", "chihuahua", "egyptian_mau",
        "english_cocker_spaniel", "english_setter", "german_shorthaired", "great_pyrenees", "havanese",
        "japanese_chin", "keeshond", "leonberger", "maine_coon", "miniature_pinscher", "newfoundland",
        "persian", "pomeranian", "pug", "ragdoll", "russian_blue", "saint_bernard", "samoyed",
        "scottish_terrier", "shiba_inu", "siamese", "sphynx", "staffordshire_bull_terrier",
        "wheaten_terrier", "yorkshire_terrier",
    ],
    "OxfordFlowers": [
        "pink primrose", "hard-leaved pocket orchid", "canterbury bells", "sweet pea", "english marigold",
        "tiger lily", "moon orchid", "bird of paradise", "monkshood", "globe thistle", "snapdragon",
        "colt's foot", "king protea", "spear thistle", "yellow iris", "globe-flower",
        "purple coneflower", "peruvian lily", "balloon flower", "giant white arum lily", "fire lily",
        "pincushion flower", "fritillary", "red ginger", "grape hyacinth", "corn poppy",
        "prince of wales feathers", "stemless gentian", "artichoke", "sweet william", "carnation",
        "garden phlox", "love in the mist", "mexican aster", "alpine sea holly", "ruby-lipped cattleya",
        "cape flower", "great masterwort", "siam tulip", "lenten rose", "barbeton daisy", "daffodil",
        "sword lily", "poinsettia", "bolero deep blue", "wallflower", "marigold", "buttercup",
        "oxeye daisy", "common dandelion", "petunia", "wild pansy", "primula", "sunflower", "pelargonium",
        "bishop of llandaff", "gaura", "geranium", "orange dahlia", "pink-yellow dahlia?",
        "cautleya spicata", "japanese anemone", "black-eyed susan", "silverbush", "californian poppy",
        "osteospermum", "spring crocus", "bearded iris", "windflower", "tree poppy", "gazania", "azalea",
        "water lily", "rose", "thorn apple", "morning glory", "passion flower", "lotus", "toad lily",
        "anthurium", "frangipani", "clematis", "hibiscus", "columbine", "desert-rose", "tree mallow",
        "magnolia", "cyclamen", "watercress", "canna lily", "hippeastrum", "bee balm", "ball moss",
        "foxglove", "bougainvillea", "camellia", "mallow", "mexican petunia", "bromelia",
        "blanket flower", "trumpet creeper", "blackberry lily",
    ],
    "Food101": [
        "apple_pie", "baby_back_ribs", "baklava", "beef_carpaccio", "beef_tartare", "beet_salad",
        "beignets", "bibimbap", "bread_pudding", "breakfast_burrito", "bruschetta", "caesar_salad",
        "cannoli", "caprese_salad", "carrot_cake", "ceviche", "cheesecake", "cheese_plate",
        "chicken_curry", "chicken_quesadilla", "chicken_wings", "chocolate_cake", "chocolate_mousse",
        "churros", "clam_chowder", "club_sandwich", "crab_cakes", "creme_brulee", "croque_madame",
        "cup_cakes", "deviled_eggs", "donuts", "dumplings", "edamame", "eggs_benedict", "escargots",
        "falafel", "filet_mignon", "fish_and_chips", "foie_gras", "french_fries", "french_onion_soup",
        "french_toast", "fried_calamari", "fried_rice", "frozen_yogurt", "garlic_bread", "gnocchi",
        "greek_salad", "grilled_cheese_sandwich", "grilled_salmon", "guacamole", "gyoza", "hamburger",
        "hot_and_sour_soup", "hot_dog", "huevos_rancheros", "hummus", "ice_cream", "lasagna",
        "lobster_bisque", "lobster_roll_sandwich", "macaroni_and_cheese", "macarons", "miso_soup",
        "mussels", "nachos", "omelette", "onion_rings", "oysters", "pad_thai", "paella", "pancakes",
        "panna_cotta", "peking_duck", "pho", "pizza", "pork_chop", "poutine", "prime_rib",
        "pulled_pork_sandwich", "ramen", "ravioli", "red_velvet_cake", "risotto", "samosa", "sashimi",
        "scallops", "seaweed_salad", "shrimp_and_grits", "spaghetti_bolognese", "spaghetti_carbonara",
        "spring_rolls", "steak", "strawberry_shortcake", "sushi", "tacos", "takoyaki", "tiramisu",
        "tuna_tartare", "waffles", "crème brûlée", "crêpes suzette", "jalapeño poppers",
    ],
    "DescribableTextures": [
        "banded", "blotchy", "braided", "bubbly", "bumpy", "chequered", "cobwebbed", "cracked",
        "crosshatched", "crystalline", "dotted", "fibrous", "flecked", "freckled", "frilly", "gauzy",
        "grid", "grooved", "honeycombed", "interlaced", "knitted", "lacelike", "lined", "marbled",
        "matted", "meshed", "paisley", "perforated", "pitted", "pleated", "polka-dotted", "porous",
        "potholed", "scaly", "smeared", "spiralled", "sprinkled", "stained", "stratified", "striped",
        "studded", "swirly", "veined", "waffled", "woven", "wrinkled", "zigzagged",
    ],
    "EuroSAT": [
        "Annual Crop Land", "Forest", "Herbaceous Vegetation Land", "Highway or Road",
        "Industrial Buildings", "Pasture Land", "Permanent Crop Land", "Residential Buildings", "River",
        "Sea or Lake", "AnnualCrop", "HerbaceousVegetation", "PermanentCrop", "SeaLake",
    ],
    "UCF101": [
        "Apply_Eye_Makeup", "Apply_Lipstick", "Archery", "Baby_Crawling", "Balance_Beam", "Band_Marching",
        "Baseball_Pitch", "Basketball", "Basketball_Dunk", "Bench_Press", "Biking", "Billiards",
        "Blow_Dry_Hair", "Blowing_Candles", "Body_Weight_Squats", "Bowling", "Boxing_Punching_Bag",
        "Boxing_Speed_Bag", "Breast_Stroke", "Brushing_Teeth", "Clean_And_Jerk", "Cliff_Diving",
        "Cricket_Bowling", "Cricket_Shot", "Cutting_In_Kitchen", "Diving", "Drumming", "Fencing",
        "Field_Hockey_Penalty", "Floor_Gymnastics", "Frisbee_Catch", "Front_Crawl", "Golf_Swing",
        "Haircut", "Hammering", "Hammer_Throw", "Handstand_Pushups", "Handstand_Walking", "Head_Massage",
        "High_Jump", "Horse_Race", "Horse_Riding", "Hula_Hoop", "Ice_Dancing", "Javelin_Throw",
        "Juggling_Balls", "Jumping_Jack", "Jump_Rope", "Kayaking", "Knitting", "Long_Jump", "Lunges",
        "Military_Parade", "Mixing", "Mopping_Floor", "Nunchucks", "Parallel_Bars", "Pizza_Tossing",
        "Playing_Cello", "Playing_Daf", "Playing_Dhol", "Playing_Flute", "Playing_Guitar",
        "Playing_Piano", "Playing_Sitar", "Playing_Tabla", "Playing_Violin", "Pole_Vault",
        "Pommel_Horse", "Pull_Ups", "Punch", "Push_Ups", "Rafting", "Rock_Climbing_Indoor",
        "Rope_Climbing", "Rowing", "Salsa_Spin", "Shaving_Beard", "Skate_Boarding", "Skiing", "Skijet",
        "Sky_Diving", "Soccer_Juggling", "Soccer_Penalty", "Still_Rings", "Sumo_Wrestling", "Surfing",
        "Swing", "Table_Tennis_Shot", "Tai_Chi", "Tennis_Swing", "Throw_Discus", "Trampoline_Jumping",
        "Typing", "Uneven_Bars", "Volleyball_Spiking", "Walking_With_Dog", "Wall_Pushups",
        "Writing_On_Board", "Yo_Yo",
    ],
    "SUN397": [
        "abbey", "airplane_cabin", "airport_terminal", "alley", "amphitheater", "amusement_arcade",
        "amusement_park", "anechoic_chamber", "outdoor apartment_building", "indoor apse", "aquarium",
        "aqueduct", "arch", "archive", "outdoor arrival_gate", "art_gallery", "art_school", "art_studio",
        "assembly_line", "outdoor athletic_field", "public atrium", "attic", "auditorium",
        "auto_factory", "badlands", "indoor badminton_court", "baggage_claim", "shop bakery",
        "exterior balcony", "interior balcony", "ball_pit", "ballroom", "bamboo_forest", "banquet_hall",
        "bar", "barn", "barndoor", "baseball_field", "basement", "basilica", "outdoor basketball_court",
        "bathroom", "batters_box", "bayou", "indoor bazaar", "outdoor bazaar", "beach", "beauty_salon",
        "bedroom", "berth", "biology_laboratory", "indoor bistro", "boardwalk", "boat_deck",
        "boathouse", "bookstore", "indoor booth", "botanical_garden", "indoor bow_window",
        "outdoor bow_window", "bowling_alley", "boxing_ring", "indoor brewery", "bridge",
        "building_facade", "bullring", "burial_chamber", "bus_interior", "butchers_shop", "butte",
        "outdoor cabin", "cafeteria", "campsite", "campus", "natural canal", "urban canal",
        "candy_store", "canyon", "backseat car_interior", "frontseat car_interior", "carrousel",
        "indoor casino", "castle", "catacomb", "indoor cathedral", "outdoor cathedral",
        "indoor cavern", "cemetery", "chalet", "cheese_factory", "chemistry_lab", "indoor chicken_coop",
        "outdoor chicken_coop", "childs_room", "indoor church", "outdoor church", "classroom",
        "clean_room", "cliff", "indoor cloister", "closet", "clothing_store", "coast", "cockpit",
        "coffee_shop", "computer_room", "conference_center", "conference_room", "construction_site",
        "control_room", "outdoor control_tower", "corn_field", "corral", "corridor", "cottage_garden",
        "courthouse", "courtroom", "courtyard", "exterior covered_bridge", "creek", "crevasse",
        "crosswalk", "office cubicle", "dam", "delicatessen", "dentists_office", "sand desert",
        "vegetation desert", "indoor diner", "outdoor diner", "home dinette", "vehicle dinette",
        "dining_car", "dining_room", "discotheque", "dock", "outdoor doorway", "dorm_room", "driveway",
        "outdoor driving_range", "drugstore", "electrical_substation", "door elevator",
        "interior elevator", "elevator_shaft", "engine_room", "indoor escalator", "excavation",
        "indoor factory", "fairway", "fastfood_restaurant", "cultivated field", "wild field",
        "fire_escape", "fire_station", "indoor firing_range", "fishpond", "indoor florist_shop",
        "food_court", "broadleaf forest", "needleleaf forest", "forest_path", "forest_road",
        "formal_garden", "fountain", "galley", "game_room", "indoor garage", "garbage_dump",
        "gas_station", "exterior gazebo", "indoor general_store", "outdoor general_store", "gift_shop",
        "golf_course", "indoor greenhouse", "outdoor greenhouse", "indoor gymnasium", "indoor hangar",
        "outdoor hangar", "harbor", "hayfield", "heliport", "herb_garden", "highway", "hill",
        "home_office", "hospital", "hospital_room", "hot_spring", "outdoor hot_tub", "outdoor hotel",
        "hotel_room", "house", "outdoor hunting_lodge", "ice_cream_parlor", "ice_floe", "ice_shelf",
        "indoor ice_skating_rink", "outdoor ice_skating_rink", "iceberg", "igloo", "industrial_area",
        "outdoor inn", "islet", "indoor jacuzzi", "indoor jail", "jail_cell", "jewelry_shop",
        "kasbah", "indoor kennel", "outdoor kennel", "kindergarden_classroom", "kitchen", "kitchenette",
        "outdoor labyrinth", "natural lake", "landfill", "landing_deck", "laundromat", "lecture_room",
        "indoor library", "outdoor library", "outdoor lido_deck", "lift_bridge", "lighthouse",
        "limousine_interior", "living_room", "lobby", "lock_chamber", "locker_room", "mansion",
        "manufactured_home", "indoor market", "outdoor market", "marsh", "martial_arts_gym",
        "mausoleum", "medina", "water moat", "outdoor monastery", "indoor mosque", "outdoor mosque",
        "motel", "mountain", "mountain_snowy", "indoor movie_theater", "indoor museum", "music_store",
        "music_studio", "outdoor nuclear_power_plant", "nursery", "oast_house",
        "outdoor observatory", "ocean", "office", "office_building", "outdoor oil_refinery",
        "oilrig", "operating_room", "orchard", "outdoor outhouse", "pagoda", "palace", "pantry",
        "park", "indoor parking_garage", "outdoor parking_garage", "parking_lot", "parlor", "pasture",
        "patio", "pavilion", "pharmacy", "phone_booth", "physics_laboratory", "picnic_area",
        "indoor pilothouse", "outdoor planetarium", "playground", "playroom", "plaza", "indoor podium",
        "outdoor podium", "pond", "establishment poolroom", "home poolroom", "outdoor power_plant",
        "promenade_deck", "indoor pub", "pulpit", "putting_green", "racecourse", "raceway", "raft",
        "railroad_track", "rainforest", "reception", "recreation_room", "residential_neighborhood",
        "restaurant", "restaurant_kitchen", "restaurant_patio", "rice_paddy", "riding_arena", "river",
        "rock_arch", "rope_bridge", "ruin", "runway", "sandbar", "sandbox", "sauna", "schoolhouse",
        "sea_cliff", "server_room", "shed", "shoe_shop", "shopfront", "indoor shopping_mall", "shower",
        "skatepark", "ski_lodge", "ski_resort", "ski_slope", "sky", "skyscraper", "slum", "snowfield",
        "squash_court", "stable", "baseball stadium", "football stadium", "indoor stage",
        "staircase", "street", "subway_interior", "platform subway_station", "supermarket",
        "sushi_bar", "swamp", "indoor swimming_pool", "outdoor swimming_pool", "indoor synagogue",
        "outdoor synagogue", "television_studio", "east_asia temple", "south_asia temple",
        "indoor tennis_court", "outdoor tennis_court", "outdoor tent", "indoor_procenium theater",
        "indoor_seats theater", "thriftshop", "throne_room", "ticket_booth", "toll_plaza", "topiary_garden",
        "tower", "toyshop", "outdoor track", "train_railway", "platform train_station", "tree_farm",
        "tree_house", "trench", "coral_reef underwater", "utility_room", "valley", "van_interior",
        "vegetable_garden", "veranda", "veterinarians_office", "viaduct", "videostore", "village",
        "vineyard", "volcano", "indoor volleyball_court", "outdoor volleyball_court", "waiting_room",
        "indoor warehouse", "water_tower", "block waterfall", "fan waterfall", "plunge waterfall",
        "watering_hole", "wave", "wet_bar", "wheat_field", "wind_farm", "windmill", "barrel_storage wine_cellar",
        "bottle_storage wine_cellar", "indoor wrestling_ring", "yard", "youth_hostel",
    ],
    "FGVCAircraft": [
        "707-320", "727-200", "737-200", "737-300", "737-400", "737-500", "737-600", "737-700", "737-800",
        "737-900", "747-100", "747-200", "747-300", "747-400", "757-200", "757-300", "767-200", "767-300",
        "767-400", "777-200", "777-300", "A300B4", "A310", "A318", "A319", "A320", "A321", "A330-200",
        "A330-300", "A340-200", "A340-300", "A340-500", "A340-600", "A380", "ATR-42", "ATR-72", "An-12",
        "BAE 146-200", "BAE 146-300", "BAE-125", "Beechcraft 1900", "Boeing 717", "C-130", "C-47",
        "CRJ-200", "CRJ-700", "CRJ-900", "Cessna 172", "Cessna 208", "Cessna 525", "Cessna 560",
        "Challenger 600", "DC-10", "DC-3", "DC-6", "DC-8", "DC-9-30", "DH-82", "DHC-1", "DHC-6",
        "DHC-8-100", "DHC-8-300", "DR-400", "Dornier 328", "E-170", "E-190", "E-195", "EMB-120",
        "ERJ 135", "ERJ 145", "Embraer Legacy 600", "Eurofighter Typhoon", "F-16A/B", "F/A-18",
        "Falcon 2000", "Falcon 900", "Fokker 100", "Fokker 50", "Fokker 70", "Global Express",
        "Gulfstream IV", "Gulfstream V", "Hawk T1", "Il-76", "L-1011", "MD-11", "MD-80", "MD-87",
        "MD-90", "Metroliner", "Model B200", "PA-28", "SR-20", "Saab 2000", "Saab 340", "Spitfire",
        "Tornado", "Tu-134", "Tu-154", "Yak-42", "Boeing 737-200",
    ],
    "StanfordCars": [
        "2012 Tesla Model S", "2012 Audi S4 Sedan", "2012 BMW M3 Coupe",
        "2007 Chevrolet Corvette Ron Fellows Edition Z06", "2012 Ferrari FF Coupe", "2012 Jeep Wrangler SUV",
        "2012 Hyundai Veloster Hatchback", "2010 Chrysler 300 SRT-8", "1993 Geo Metro Convertible",
        "2012 smart fortwo Convertible", "2009 Spyker C8 Coupe",
        "2012 Rolls-Royce Phantom Drophead Coupe Convertible", "2007 Bentley Continental Flying Spur Sedan",
        "2012 McLaren MP4-12C Coupe", "2012 Mercedes-Benz Sprinter Van", "2011 Audi TT Hatchback",
        "1994 Audi 100 Sedan", "2012 Aston Martin V8 Vantage Convertible", "2012 Acura TL Sedan",
        "2001 Acura Integra Type R", "2012 AM General Hummer SUV", "2007 Buick Rainier SUV",
        "2012 Cadillac Escalade EXT Crew Cab", "2010 Dodge Ram Pickup 3500 Crew Cab", "2012 Fiat 500 Abarth",
        "2012 FIAT 500 Convertible", "2006 Ford GT Coupe", "2012 GMC Savana Van", "2012 Honda Odyssey Minivan",
        "2012 Lamborghini Aventador Coupe", "2009 Bugatti Veyron 16.4 Coupe", "2012 Land Rover LR2",
        "2012 Nissan Leaf Hatchback", "1998 Eagle Talon Hatchback", "2012 Porsche Panamera Sedan",
        "2012 Volvo C30 Hatchback", "1993 Volvo 240 Sedan", "2012 Suzuki Kizashi Sedan",
        "2012 Toyota Camry Sedan", "2012 Volkswagen Golf Hatchback", "2007 Hyundai Elantra Sedan",
        "2012 Hyundai Genesis Sedan", "2008 Isuzu Ascender SUV", "2012 Jeep Grand Cherokee SUV",
        "2007 Dodge Caliber Wagon", "2012 Chevrolet Silverado 1500 Hybrid Crew Cab",
    ],
}

# texts that exercise the tokenizer beyond class names; each must be unaffected by ftfy
MISC = [
    # contractions, upper-case 'S etc.
    "it's", "IT'S", "It'S a dog'S life", "we're here", "they've gone", "I'm fine", "you'll see",
    "he'd go", "can't won't shouldn't", "'s", "'t'", "'re're", "O'Neill's", "ma'am", "y'all'd've",
    "''", "'''s", "the dog's toy", "'\u017f '\u017ftill <|\u017ftartoftext|>", "THE CAT'S PAJAMAS", "'LL 'D 'M 'VE 'RE 'T 'S",
    # digits and numbers
    "2023", "3.14159", "1,000,000", "0", "007", "1st 2nd 3rd 4th", "\u0663\u0664\u0665",
    "x\u00b2 + y\u00b2", "\u00bd cup", "Chapter \u216b", "\u2460\u2461\u2462", "12:30 pm", "+49 30 1234567",
    "$19.99", "100%", "#1", "v2.0.1", "1e-5", "0x1F", "\u0968\u0966\u0968\u0969",
    # punctuation and symbols
    "!!!", "?!", "...", "\u2014 em dash \u2013 en dash", "(a) [b] {c} <d>", "a/b\\c", "@#$%^&*",
    "~`|", "\u00a7\u00b6\u00a9\u00ae\u2122", "\u00ab guillemets \u00bb", "\u00bfqu\u00e9? \u00a1s\u00ed!",
    "a.b.c", "e-mail: someone@example.com", "https://example.com/path?x=1&y=2", "C++ and C#",
    "1 + 1 = 2", "\u2190\u2192\u2191\u2193", "\u2605\u2606", "\u20ac100 \u00a350 \u00a5200",
    "snake_case_name", "kebab-case-name", "CamelCaseName", "ALLCAPS", "MiXeD CaSe",
    # accents and other scripts
    "cr\u00e8me br\u00fbl\u00e9e", "na\u00efve caf\u00e9", "\u00c9cole \u00c9l\u00e9mentaire", "Stra\u00dfe",
    "\u1e9e", "\u00c5ngstr\u00f6m", "S\u00e3o Paulo", "Z\u00fcrich", "Krak\u00f3w", "\u0141\u00f3d\u017a",
    "\u0130stanbul", "DIYARBAKIR", "\u0131\u015f\u0131k", "Ελληνικά", "ΟΔΟΣ", "ΣΑΣ ΣΑΣ.", "Σ", "ΑΣ'Β",
    "φιλοσοφία", "Москва", "Привет, мир!", "ЁЛКА", "Україна", "日本語のテキスト", "中文字符", "東京タワー",
    "한국어 텍스트", "مرحبا بالعالم", "नमस्ते दुनिया", "हिन्दी", "สวัสดี", "שלום עולם", "Հայերեն",
    "ქართული", "አማርኛ", "Tiếng Việt", "ภาษาไทย", "བོད་ཡིག", "ᚠᚢᚦ",
    # emoji
    "\U0001F431", "\U0001F436\U0001F431", "\U0001F44D\U0001F3FD", "\U0001F1FA\U0001F1F8",
    "\U0001F468\u200d\U0001F469\u200d\U0001F467", "I \u2764\ufe0f NY", "\u263a", "\U0001F600 smile",
    "cat \U0001F408 dog \U0001F415",
    # HTML entities (at most two levels: ftfy would unescape further)
    "&amp;", "&amp;amp;", "&#39;", "&lt;", "&gt;", "&quot;quoted&quot;", "Tom &amp; Jerry",
    "AT&T", "fish &amp; chips", "&#65;&#x42;&#X43;", "&eacute;t&eacute;", "&copy; 2021", "&copy 2021",
    "&nbsp;a&nbsp;&nbsp;b", "&unknown; entity", "& amp;", "&#;", "&#x;", "&notit;", "&ampx",
    "&#0;", "&#1;x", "&#128;", "&#x110000;", "&#xD800;", "&#99999999999;", "&Aacute;&aacute;",
    "&lt;b&gt;bold&lt;/b&gt;", "x &lt;y &gt; z", "< &amp;amp;amp; >", "<p>&amp;amp;amp;</p>",
    # special-token strings in the text
    "<|startoftext|>", "a <|endoftext|> b", "<|endoftext|><|startoftext|>", "<|ENDOFTEXT|>",
    "<|endoftext", "<|startoftext|>hello",
    # whitespace
    "a  b", "\ta\n\nb\r\n", " \u00a0 x \u2003 y \u3000 ", "line one\nline two", "tab\tseparated\tvalues",
    "   ", "\n", "trailing ", " leading", "\u2028a\u2029b", "a\u000cb\u000cc",
    # long words and BPE corners
    "a" * 40, "b" * 33, "supercalifragilisticexpialidocious", "pneumonoultramicroscopicsilicovolcanoconiosis",
    "antidisestablishmentarianism", "hippopotomonstrosesquippedaliophobia", "zzzzzzz", "qwertyuiop",
    "the the the the", "ababababababab", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "jekyll", "aaaa aaa aa a", "!" * 20, "." * 25, "-_-_-_-",
]


def dataset_cases():
    cases = []
    for ds, names in CLASSNAMES.items():
        tmpl = TEMPLATES[ds]
        for name in names:
            cases.append(tmpl.format(name.replace("_", " ")))
    for name in CLASSNAMES["ImageNet"][:60]:
        for t in IMAGENET_ENSEMBLE:
            cases.append(t.format(name))
    # CoOp-style context initialisation and learned-context placeholders
    for ds, names in CLASSNAMES.items():
        for name in names[:5]:
            cases.append("X X X X " + name.replace("_", " ") + ".")
            cases.append("X " * 16 + name.replace("_", " ") + ".")
    cases.append("a photo of a")
    return cases


# ftfy subset: input -> the text ftfy 6 makes of it, written by hand. The expected ids are those
# of the hand-written text; ftfy_subset() must agree with it.
FTFY_CASES = [
    ("\uff21\uff22\uff23", "ABC"),
    ("\uff41 \uff50\uff48\uff4f\uff54\uff4f \uff4f\uff46 \uff41 \uff43\uff41\uff54\uff0e", "a photo of a cat."),
    ("\uff2c\uff2f\uff35\uff24\u3000\uff2e\uff2f\uff29\uff33\uff25\uff33", "LOUD NOISES"),
    ("\uff11\uff12\uff13\uff05", "123%"),
    ("\uff35\uff80\uff70\uff9d", "U\u30bf\u30fc\u30f3"),
    ("\uffe0\uffe1\uffe5", "\u00a2\u00a3\u00a5"),
    ("\u2018single\u2019 and \u201cdouble\u201d quotes", "'single' and \"double\" quotes"),
    ("it\u2019s a dog\u2019s life", "it's a dog's life"),
    ("\u201a low \u201b reversed \u201e low double \u201f", "' low ' reversed \" low double \""),
    ("don\u02bct", "don't"),
    ("\ufb01sh \ufb02ower \ufb00 \ufb03 \ufb04 \ufb06", "fish flower ff ffi ffl st"),
    ("\ufb05", "\u017ft"),
    ("\u0132sselmeer \u0133s", "IJsselmeer ijs"),
    ("\u01c4 \u01c5 \u01c6 \u01c7 \u01c8 \u01c9 \u01ca \u01cb \u01cc \u01f1 \u01f2 \u01f3",
     "D\u017d D\u017e d\u017e LJ Lj lj NJ Nj nj DZ Dz dz"),
    ("\u0149", "'n"),
    ("cafe\u0301", "caf\u00e9"),
    ("e\u0301te\u0301", "\u00e9t\u00e9"),
    ("A\u030a", "\u00c5"),
    ("n\u0303", "\u00f1"),
    ("\u212b", "\u00c5"),
    ("\u2126", "\u03a9"),
    ("a\u0323\u0302", "\u1ead"),
    ("a\u0302\u0323", "\u1ead"),
    ("\u1100\u1161\u11a8", "\uac01"),
    ("\u304b\u3099", "\u304c"),
    ("a\x02b\x01c\x07d\x1be\x7ff\x08", "abcdef"),  # (U+0000 cannot pass through a C string)
    ("\ufeffbyte order mark", "byte order mark"),
    ("x\u206ay\ufff9z\ufffc", "xyz"),
    ("\x1b[31mred\x1b[0m text", "red text"),
    ("\x1b[1;32mbold green\x1b[m", "bold green"),
    ("\x93quoted\x94", "\"quoted\""),
    ("\x91it\x92s\x85", "'it's\u2026"),
    ("\x80100", "\u20ac100"),
    ("\x8a\x9a\x8c\x9c\x9f", "\u0160\u0161\u0152\u0153\u0178"),
    ("caf\x85", "caf\u2026"),
    ("&amp;amp;amp;", "&"),
    ("&amp;amp;amp;amp; &lt;", "& <"),
    ("&EACUTE;COLE", "\u00c9COLE"),
    ("BUNDESSTRA&SZLIG;E", "BUNDESSTRASSE"),
    ("&#8217;s", "'s"),
    ("it&rsquo;s", "it's"),
    ("&ldquo;hi&rdquo;", "\"hi\""),
    ("&#147;hi&#148;", "\"hi\""),
    ("&#xFB01;ne", "fine"),
    ("&#65313;&#65314;", "AB"),
    ("e&#769;", "\u00e9"),
    ("a\r\nb\rc", "a\nb\nc"),
    ("<b>&amp;amp;amp;</b>", "<b>&amp;amp;amp;</b>"),
    ("&amp;amp;amp;\n<b>&amp;amp;amp;</b>", "&\n<b>&amp;amp;amp;</b>"),
    ("<b>\n&amp;amp;amp;", "<b>\n&amp;amp;amp;"),
    ("\uff08\uff41\uff09\u2019\uff53", "(a)'s"),
]


def clean_cases():
    """(input, expected cleaning) pairs that test the Unicode tables and html.unescape against the
    Python standard library. Inputs avoid everything ftfy changes except NFC, so the expected text is
    the CLIP cleaning of the NFC form."""
    touched = set(range(0x80, 0xA0)) | set(_LIG) | set(_WIDTH) | set(_CONTROL) | \
        {0x2BC, 0x2018, 0x2019, 0x201A, 0x201B, 0x201C, 0x201D, 0x201E, 0x201F, 0x0D, 0x2028, 0x2029}
    out = []

    def add(text):
        exp = clean(unicodedata.normalize("NFC", text))
        assert clean_with_ftfy_subset(text) == exp, ascii(text)
        out.append((text, exp))

    # every character with a lowercase mapping, 24 to a line
    chars = [chr(c) for c in range(0x110000)
             if not 0xD800 <= c <= 0xDFFF and chr(c).lower() != chr(c) and c not in touched]
    for i in range(0, len(chars), 24):
        add(" ".join(chars[i:i + 24]))
    # every character with a canonical decomposition, decomposed (NFD), 16 to a line, and as is
    dec = [chr(c) for c in range(0x110000)
           if not 0xD800 <= c <= 0xDFFF and unicodedata.decomposition(chr(c))
           and not unicodedata.decomposition(chr(c)).startswith("<") and c not in touched]
    for i in range(0, len(dec), 16):
        add(" ".join(unicodedata.normalize("NFD", ch) for ch in dec[i:i + 16]))
        add("".join(dec[i:i + 16]))
    # Hangul syllables, decomposed, every 97th
    add(" ".join(unicodedata.normalize("NFD", chr(c)) for c in range(0xAC00, 0xD7A4, 97)))
    # reordering and blocking
    for t in ["a\u0301\u0316", "a\u0316\u0301", "a\u0301\u0301", "a\u0308\u0301", "\u0301a",
              "\u0316\u0301", "e\u0327\u0306", "e\u0306\u0327", "o\u031b\u0323\u0300", "o\u0300\u031b\u0323",
              "\u0b47\u0b3e", "\u0dd9\u0dcf\u0dca", "\u1100\u1161", "\uac00\u11a8", "\u1100\u1161\u11a8x",
              "a\u05b0\u0301", "\u0041\u0328\u0301", "\u0415\u0308\u0301", "\u03b1\u0313\u0301\u0345",
              "\u03a9\u0345", "\u1fbc", "\u0344", "\u0340\u0341", "\u0958", "\u2adc", "\U0001D15E",
              "\u00c7\u0301", "\u0106\u0327"]:
        add(t)
    # whitespace: every str.isspace() character
    sp = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF and chr(c).isspace()
          and c not in touched]
    add("a" + "".join(sp) + "b")
    add("".join(sp) + "x" + "".join(sp))
    for s in sp:
        add("p" + s + s + "q ")
    # final sigma contexts
    for t in ["\u03a3", "\u0391\u03a3", "\u0391\u03a3\u0391", "\u0391\u03a3.", "\u0391\u03a3 \u0391",
              "\u0391\u03a3'", "\u0391'\u03a3", "\u0391\u0301\u03a3", "\u0391\u03a3\u0301", "\u0391\u03a3\u0301\u0391",
              "1\u03a3", ".\u03a3", "\u03a3\u03a3\u03a3", "a\u03a3", "\u00aa\u03a3", "\u02b0\u03a3", "\u0391\u00ad\u03a3",
              "\u0391\u03a3\u00ad", "\u0391\u03a3\u00adb", "\u0130\u03a3", "\u0391:\u03a3"]:
        add(t)
    add("\u0130 \u0130i I\u0307")
    # html.unescape with a '<' in the text, so ftfy leaves the entities alone
    names = sorted(html.entities.html5)
    for i in range(0, len(names), 20):
        add("<" + " ".join("&" + n for n in names[i:i + 20]))
    for i in range(0, len(names), 25):
        add("<" + "".join("&" + n for n in names[i:i + 25]))
    for t in ["&amp;amp;amp;", "&notit; &notin; &not", "&ampx &ampx; &amp;x", "&copy2021", "&#65&#66;",
              "&#x41g &#X42; &#x;", "&#0; &#13; &#128; &#129; &#150; &#159; &#160;", "&#1;&#8;&#11;&#127;",
              "&#xD800; &#xDFFF; &#x10FFFF; &#x110000; &#99999999999999999999;", "&#xFDD0; &#xFFFE; &#x1FFFF;",
              "&" + "a" * 40 + ";", "&" + "b" * 31 + ";", "&\u00e9cole; &\u00e9", "&\tamp; &a\nmp;",
              "&AMP; &AMP &Amp; &aMp;", "&EACUTE; &SZLIG;", "&#x1F431;", "& &; &&amp; &#&#x",
              "&lt&gt&quot&nbsp&", "&NotEqualTilde; &nGt; &fjlig;", "&lta &gta &quota"]:
        add("<" + t)
        add("< " + t + " &amp;")
    return out


def long_cases(tok):
    res = []
    # exactly 75 BPE tokens (77 with SOT/EOT): fits
    t75 = " ".join(["a photo of a cat"] * 15)
    assert len(tok.encode(t75)) == 75
    res.append(t75)
    # 76 and more: too long for 77 (tokenizer_encode still works)
    res.append(t75 + " x")
    res.append(" ".join(["a photo of a cat"] * 30) + ".")
    res.append("supercalifragilisticexpialidocious " * 10)
    return res


def main():
    tok = Tokenizer()
    assert len(tok.vocab) == 49408 and len(set(tok.vocab)) == 49408, "duplicate vocabulary symbols"
    if len(sys.argv) > 1:
        for text in sys.argv[1:]:
            print(" ".join(map(str, tok.tokenize(text))))
        return
    for text, ids in SPEC_VECTORS:
        got = tok.tokenize(text)
        assert got == ids, (text, got, ids)
    assert tok.tokenize(FULLWIDTH_NO_FTFY[0]) == FULLWIDTH_NO_FTFY[1]
    for text, n in SPEC_TOKEN_COUNTS:
        assert len(tok.encode(text)) == n, (text, tok.encode(text))
    assert tok.encoder["a</w>"] == 320 and tok.encoder["x</w>"] == 343

    cases = [t for t, _ in SPEC_VECTORS] + dataset_cases() + MISC + long_cases(tok)
    seen, uniq = set(), []
    for c in cases:
        if c not in seen:
            seen.add(c)
            uniq.append(c)
    for c in uniq:
        # a reference case must come out the same with and without the ftfy subset
        assert clean(c) == clean_with_ftfy_subset(c), "ftfy would change %s" % ascii(c)
    data = os.path.join(ROOT, "tests", "data")
    with open(os.path.join(data, "tokenizer_cases.txt"), "w", encoding="utf-8") as f:
        for c in uniq:
            f.write(esc(c) + "\n")
    with open(os.path.join(data, "tokenizer_expected.txt"), "w", encoding="utf-8") as f:
        for c in uniq:
            f.write(" ".join(map(str, tok.tokenize(c))) + "\n")

    with open(os.path.join(data, "tokenizer_ftfy_cases.txt"), "w", encoding="utf-8") as f, \
            open(os.path.join(data, "tokenizer_ftfy_expected.txt"), "w", encoding="utf-8") as g:
        for inp, fixed in FTFY_CASES:
            assert ftfy_subset(inp) == fixed, (ascii(inp), ascii(ftfy_subset(inp)), ascii(fixed))
            assert clean(fixed) == clean_with_ftfy_subset(fixed)
            f.write(esc(inp) + "\t" + esc(fixed) + "\n")
            g.write(" ".join(map(str, tok.tokenize(fixed))) + "\n")

    cc = clean_cases()
    with open(os.path.join(data, "tokenizer_clean_cases.txt"), "w", encoding="utf-8") as f:
        for inp, exp in cc:
            f.write(esc(inp) + "\t" + esc(exp) + "\n")
    print("%d reference cases, %d ftfy cases, %d cleaning cases" % (len(uniq), len(FTFY_CASES), len(cc)))


if __name__ == "__main__":
    main()
