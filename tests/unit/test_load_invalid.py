"""The invalid-storyboard corpus: one storyboard per rule, each with its exact error lines.

Every case is run through the real command line (`storyboard validate board.yaml`) and must
print exactly the expected `board.yaml:line:col: key.path: message` lines on stderr and exit 2.
Lines and columns were counted by hand from the YAML below (1-based, the first line of each
text is line 1), not copied from the program's output.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from storyboard.cli.main import main

from support.board_media import make_media

FILE = "board.yaml"
URL = '"https://example.com/a.png"'  # 27 characters with its quotes


def yaml(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def refs(n: int) -> str:
    """`n` reference-image lines at list indentation 6 (role values start at column 50)."""
    return "".join(f'      - {{url: "https://example.com/{i}.png", role: reference_image}}\n' for i in range(n))


# (id, storyboard text, expected lines without the "board.yaml:" prefix)
CASES: list[tuple[str, str, list[str]]] = [
    # --- YAML --------------------------------------------------------------------------------
    ("yaml-mapping-in-value", "version: 1\nname: a: b\n",
     ["2:8: YAML syntax error: mapping values are not allowed here"]),
    ("yaml-unclosed-flow", "version: 1\nname: t\nshots: [{prompt: x}",
     ["3:20: YAML syntax error: expected ',' or ']', but got '<stream end>'"]),
    ("yaml-tab-indent", "version: 1\nname: t\nshots:\n\t- prompt: x\n",
     ["4:1: YAML syntax error: found character '\\t' that cannot start any token"]),
    ("yaml-two-documents", "version: 1\nname: t\n---\nversion: 1\n",
     ["3:1: YAML syntax error: expected a single document in the stream, but found another document"]),
    ("yaml-duplicate-key", yaml("""\
        version: 1
        name: t
        shots:
          - prompt: a fox
            prompt: a cat
        """), ["5:5: shots[0].prompt: duplicate key (first defined on line 4)"]),
    ("yaml-duplicate-top-key", "version: 1\nname: t\nname: u\n",
     ["3:1: name: duplicate key (first defined on line 2)"]),
    ("yaml-bad-int-tag", yaml("""\
        version: 1
        name: t
        shots:
          - prompt: a fox
            duration: !!int four
        """), ["5:15: shots[0].duration: 'four' is not a valid int"]),
    ("yaml-list-as-key", "version: 1\n? [a, b]\n: 1\n", ["2:3: keys must be plain strings"]),
    ("yaml-merge-scalar", "version: 1\nname: t\ndefaults:\n  <<: 5\n",
     ["4:7: defaults: expected a mapping or list of mappings for merging, but found scalar"]),
    ("yaml-merged-bad-key", "version: 1\nname: t\ndefaults:\n  <<: {!!int x: 1}\n",
     ["4:8: defaults: 'x' is not a valid int"]),
    ("yaml-merged-value-points-at-anchor", yaml("""\
        version: 1
        name: t
        vars:
          look: &look {resolution: 4k}
        shots:
          - <<: *look
            prompt: a fox
        """), ["4:28: shots[0].resolution: 4k is not available for doubao-seedance-1-0-pro-250528 "
               "(choose 480p, 720p or 1080p)"]),
    # --- Jinja -------------------------------------------------------------------------------
    ("jinja-syntax", yaml("""\
        version: 1
        name: t
        shots:
          - prompt: a {{ coat fox
        """), ["4:13: shots[0].prompt: template syntax error: expected token 'end of print statement', got 'fox'"]),
    ("jinja-syntax-block-scalar", yaml("""\
        version: 1
        name: t
        shots:
          - prompt: |
              A fox in the snow.

              She wears a {{ coat }
        """), ["7:7: shots[0].prompt: template syntax error: unexpected '}'"]),
    ("jinja-syntax-folded-quoted", yaml("""\
        version: 1
        name: t
        shots:
          - prompt: "A fox
              in the snow {{ coat"
        """), ["4:13: shots[0].prompt: template syntax error: unexpected end of template, expected 'end of print "
               "statement'."]),
    ("jinja-syntax-folded-block", yaml("""\
        version: 1
        name: t
        shots:
          - prompt: >
              A fox in the snow.

              She wears a {{ coat }
        """), ["5:7: shots[0].prompt: template syntax error: unexpected '}'"]),
    ("jinja-undefined", yaml("""\
        version: 1
        name: t
        vars:
          coat: red
        shots:
          - prompt: a {{ colour }} fox
        """), ["6:13: shots[0].prompt: undefined variable 'colour'"]),
    ("jinja-undefined-in-output", yaml("""\
        version: 1
        name: t
        output:
          path: out/{{ title }}.mp4
        shots:
          - prompt: a fox
        """), ["4:9: output.path: undefined variable 'title'"]),
    ("jinja-renders-unknown-model", yaml("""\
        version: 1
        name: t
        vars:
          m: seedance-9
        shots:
          - prompt: a fox
            model: "{{ m }}"
        """), ['7:12: shots[0].model: unknown model "seedance-9" (known: doubao-seedance-1-0-pro-250528, '
               "doubao-seedance-1-0-pro-fast-251015, doubao-seedance-1-5-pro-251215, "
               "doubao-seedance-1-0-lite-t2v-250428, doubao-seedance-1-0-lite-i2v-250428, "
               "doubao-seedance-2-0-260128, doubao-seedance-2-0-fast-260128, "
               "doubao-seedance-2-0-mini-260615 or doubao-seedance-2-5-260628)"]),
    ("jinja-renders-out-of-range", yaml("""\
        version: 1
        name: t
        vars:
          d: 40
        shots:
          - prompt: a fox
            duration: "{{ d }}"
        """), ["7:15: shots[0].duration: must be at most 30 (got '40')"]),
    # --- file shape --------------------------------------------------------------------------
    ("empty-file", "", ["the file is empty (expected a storyboard mapping)"]),
    ("comments-only", "# a storyboard, one day\n", ["the file is empty (expected a storyboard mapping)"]),
    ("top-level-list", "- prompt: a fox\n", ["1:1: the top level must be a mapping of keys (found a list)"]),
    ("top-level-scalar", "just some words\n",
     ["1:1: the top level must be a mapping of keys (found a single value)"]),
    ("missing-version", "shots:\n  - prompt: a fox\n", ['1:1: missing required key "version"']),  # name: the stem
    ("caption-number", "version: 1\nshots:\n  - prompt: a fox\n    caption: 5\n",
     ["4:14: shots[0].caption: must be a string (its text) or a mapping (got 5)"]),
    ("caption-list", "version: 1\nshots:\n  - prompt: a fox\n    caption: [a, b]\n",
     ["4:14: shots[0].caption: must be a string (its text) or a mapping (got a list)"]),
    ("name-null", "version: 1\nname:\nshots:\n  - prompt: a fox\n", ["2:6: name: must be a string"]),
    ("missing-prompt", "version: 1\nname: t\nshots:\n  - id: intro\n",
     ['4:5: shots[0]: missing required key "prompt"']),
    ("version-2", "version: 2\nname: t\nshots:\n  - prompt: a fox\n",
     ["1:10: version: must be 1 (the only storyboard format version) (got 2)"]),
    ("shots-empty", "version: 1\nname: t\nshots: []\n", ["3:8: shots: needs at least 1 item"]),
    ("shots-mapping", "version: 1\nname: t\nshots:\n  prompt: a fox\n", ["4:3: shots: must be a list"]),
    ("vars-list", "version: 1\nname: t\nvars: [coat, red]\nshots:\n  - prompt: a fox\n",
     ["3:7: vars: must be a mapping (got a list)"]),
    # --- types and keys ----------------------------------------------------------------------
    ("type-int", "version: 1\nname: t\nshots:\n  - prompt: a fox\n    duration: four\n",
     ["5:15: shots[0].duration: must be an integer (got 'four')"]),
    ("type-int-from-float", "version: 1\nname: t\nshots:\n  - prompt: a fox\n    seed: 1.5\n",
     ["5:11: shots[0].seed: must be an integer (got 1.5)"]),
    ("type-bool", "version: 1\nname: t\nshots:\n  - prompt: a fox\n    chain: maybe\n",
     ["5:12: shots[0].chain: must be true, false, extend or edit (got 'maybe')"]),
    ("type-string", "version: 1\nname: t\nshots:\n  - prompt: 42\n",
     ["4:13: shots[0].prompt: must be a string (got 42)"]),
    ("prompt-empty", 'version: 1\nname: t\nshots:\n  - prompt: ""\n', ["4:13: shots[0].prompt: must not be empty"]),
    ("resolution-unknown", "version: 1\nname: t\nshots:\n  - prompt: a fox\n    resolution: 2k\n",
     ["5:17: shots[0].resolution: must be one of 480p, 720p, 1080p or 4k (got '2k')"]),
    ("ratio-unknown", 'version: 1\nname: t\nshots:\n  - prompt: a fox\n    ratio: "16:10"\n',
     ["5:12: shots[0].ratio: must be one of 16:9, 4:3, 1:1, 3:4, 9:16, 21:9 or adaptive (got '16:10')"]),
    ("id-pattern", 'version: 1\nname: t\nshots:\n  - id: "my shot"\n    prompt: a fox\n',
     ["4:9: shots[0].id: must be letters, digits, _ . - (starting with a letter or digit) (got 'my shot')"]),
    ("unknown-key-suggestion", "version: 1\nname: t\nshots:\n  - prompt: a fox\n    durration: 4\n",
     ['5:5: shots[0].durration: unknown key (did you mean "duration"?)']),
    ("unknown-key-missing-shots", "version: 1\nname: t\nshot:\n  - prompt: a fox\n",
     ['1:1: missing required key "shots"', '3:1: shot: unknown key (did you mean "shots"?)']),
    ("unknown-key-no-suggestion", "version: 1\nname: t\ncolour: red\nshots:\n  - prompt: a fox\n",
     ["3:1: colour: unknown key (valid keys: version, name, vars, defaults, output, assets, shots)"]),
    ("unknown-key-in-image", yaml(f"""\
        version: 1
        name: t
        shots:
          - prompt: a fox
            images:
              - {{url: {URL}, rol: last_frame}}
        """), ['6:44: shots[0].images[0].rol: unknown key (did you mean "role"?)']),
    ("unknown-key-in-defaults", "version: 1\nname: t\ndefaults:\n  modle: x\nshots:\n  - prompt: a\n",
     ['4:3: defaults.modle: unknown key (did you mean "model"?)']),
    ("unknown-model", yaml("""\
        version: 1
        name: t
        shots:
          - prompt: a fox
            model: doubao-seedance-1-0-pro
        """), ['5:12: shots[0].model: unknown model "doubao-seedance-1-0-pro" '
               '(did you mean "doubao-seedance-1-0-pro-250528"?)']),
    # --- durations and frames per model --------------------------------------------------------
    ("duration-1.0-pro", "version: 1\nname: t\nshots:\n  - prompt: a fox\n    duration: 13\n",
     ["5:15: shots[0].duration: must be between 2 and 12 for doubao-seedance-1-0-pro-250528"]),
    ("columns-count-characters", "version: 1\nname: t\nshots:\n  - {prompt: 狐狸🦊, duration: 13}\n",
     ["4:29: shots[0].duration: must be between 2 and 12 for doubao-seedance-1-0-pro-250528"]),
    ("duration-1.5-pro", yaml("""\
        version: 1
        name: t
        defaults:
          model: doubao-seedance-1-5-pro-251215
        shots:
          - prompt: a fox
            duration: 3
        """), ["7:15: shots[0].duration: must be between 4 and 12 for doubao-seedance-1-5-pro-251215"]),
    ("duration-2.0-fast-from-defaults", yaml("""\
        version: 1
        name: t
        defaults:
          model: doubao-seedance-2-0-fast-260128
          duration: 16
        shots:
          - prompt: a fox
          - prompt: a cat
        """), ["5:13: defaults.duration: must be between 4 and 15 for doubao-seedance-2-0-fast-260128"]),
    ("duration-2.5", yaml("""\
        version: 1
        name: t
        shots:
          - prompt: a fox
            model: doubao-seedance-2-5-260628
            duration: 2
        """), ["6:15: shots[0].duration: must be between 4 and 30 for doubao-seedance-2-5-260628"]),
    ("duration-over-30", "version: 1\nname: t\nshots:\n  - prompt: a fox\n    duration: 31\n",
     ["5:15: shots[0].duration: must be at most 30 (got 31)"]),
    ("duration-auto-on-1.0", "version: 1\nname: t\nshots:\n  - prompt: a fox\n    duration: -1\n",
     ["5:15: shots[0].duration: -1 (automatic) is not supported by doubao-seedance-1-0-pro-250528"]),
    ("frames-not-25+4n", "version: 1\nname: t\nshots:\n  - prompt: a fox\n    frames: 30\n",
     ["5:13: shots[0].frames: must be 25+4n between 29 and 289 (nearest: 29 or 33)"]),
    ("frames-below-29", "version: 1\nname: t\nshots:\n  - prompt: a fox\n    frames: 25\n",
     ["5:13: shots[0].frames: must be at least 29 (got 25)"]),
    ("frames-above-289", "version: 1\nname: t\nshots:\n  - prompt: a fox\n    frames: 293\n",
     ["5:13: shots[0].frames: must be at most 289 (got 293)"]),
    ("frames-on-1.5", yaml("""\
        version: 1
        name: t
        shots:
          - prompt: a fox
            model: doubao-seedance-1-5-pro-251215
            frames: 121
        """), ["6:13: shots[0].frames: frames is not supported by doubao-seedance-1-5-pro-251215 (use duration)"]),
    ("frames-on-2.0-from-defaults", yaml("""\
        version: 1
        name: t
        defaults:
          model: doubao-seedance-2-0-260128
          frames: 121
        shots:
          - prompt: a fox
        """), ["5:11: defaults.frames: frames is not supported by doubao-seedance-2-0-260128 (use duration)"]),
    ("duration-and-frames", yaml("""\
        version: 1
        name: t
        shots:
          - prompt: a fox
            duration: 5
            frames: 121
        """), ["6:13: shots[0].frames: set either duration or frames, not both"]),
    # --- resolution and ratio per model --------------------------------------------------------
    ("4k-on-1.5", yaml("""\
        version: 1
        name: t
        shots:
          - prompt: a fox
            model: doubao-seedance-1-5-pro-251215
            resolution: 4k
        """), ["6:17: shots[0].resolution: 4k is not available for doubao-seedance-1-5-pro-251215 "
               "(choose 480p, 720p or 1080p)"]),
    ("1080p-on-2.0-fast", yaml("""\
        version: 1
        name: t
        shots:
          - prompt: a fox
            model: doubao-seedance-2-0-fast-260128
            resolution: 1080p
        """), ["6:17: shots[0].resolution: 1080p is not available for doubao-seedance-2-0-fast-260128 "
               "(choose 480p or 720p)"]),
    ("1080p-on-2.0-mini", yaml("""\
        version: 1
        name: t
        defaults:
          resolution: 1080p
        shots:
          - prompt: a fox
            model: doubao-seedance-2-0-mini-260615
        """), ["4:15: defaults.resolution: 1080p is not available for doubao-seedance-2-0-mini-260615 "
               "(choose 480p or 720p)"]),
    ("1080p-lite-i2v-with-references", yaml(f"""\
        version: 1
        name: t
        shots:
          - prompt: a fox
            model: doubao-seedance-1-0-lite-i2v-250428
            resolution: 1080p
            images:
              - {{url: {URL}, role: reference_image}}
        """), ["6:17: shots[0].resolution: 1080p is not available for doubao-seedance-1-0-lite-i2v-250428 "
               "with reference images (choose 480p or 720p)"]),
    ("adaptive-text-to-video-1.0", "version: 1\nname: t\nshots:\n  - prompt: a fox\n    ratio: adaptive\n",
     ["5:12: shots[0].ratio: adaptive needs an image on doubao-seedance-1-0-pro-250528 "
      "(text-to-video takes a fixed ratio)"]),
    ("adaptive-lite-i2v-references", yaml(f"""\
        version: 1
        name: t
        shots:
          - prompt: a fox
            model: doubao-seedance-1-0-lite-i2v-250428
            ratio: adaptive
            images:
              - {{url: {URL}, role: reference_image}}
        """), ["6:12: shots[0].ratio: adaptive is not available for doubao-seedance-1-0-lite-i2v-250428 "
               "with reference images"]),
    ("ratio-2.5-with-first-frame", yaml(f"""\
        version: 1
        name: t
        shots:
          - prompt: a fox
            model: doubao-seedance-2-5-260628
            ratio: "16:9"
            images:
              - {{url: {URL}}}
        """), ["6:12: shots[0].ratio: doubao-seedance-2-5-260628 takes the ratio from the first frame: "
               "use adaptive or leave ratio out"]),
    # --- image roles ---------------------------------------------------------------------------
    ("two-first-frames", yaml("""\
        version: 1
        name: t
        shots:
          - prompt: a fox
            images:
              - url: https://example.com/a.png
                role: first_frame
              - url: https://example.com/b.png
                role: first_frame
        """), ["9:15: shots[0].images[1].role: a shot takes one first_frame (another first_frame is already given)"]),
    ("chain-and-first-frame", yaml(f"""\
        version: 1
        name: t
        shots:
          - prompt: a fox
          - prompt: the fox runs
            chain: true
            images:
              - {{url: {URL}, role: first_frame}}
        """), ["8:50: shots[1].images[0].role: a shot takes one first_frame (chain: true is already given)"]),
    ("last-frame-without-first", yaml(f"""\
        version: 1
        name: t
        shots:
          - prompt: a fox
            images:
              - {{url: {URL}, role: last_frame}}
        """), ["6:50: shots[0].images[0].role: a last_frame needs a first_frame"]),
    ("two-last-frames", yaml(f"""\
        version: 1
        name: t
        shots:
          - prompt: a fox
            images:
              - {{url: {URL}, role: first_frame}}
              - {{url: {URL}, role: last_frame}}
              - {{url: {URL}, role: last_frame}}
        """), ["8:50: shots[0].images[2].role: a shot takes one last_frame"]),
    ("references-mixed-with-first-frame", yaml(f"""\
        version: 1
        name: t
        shots:
          - prompt: a fox
            model: doubao-seedance-1-0-lite-i2v-250428
            images:
              - {{url: {URL}, role: first_frame}}
              - {{url: {URL}, role: reference_image}}
        """), ["8:50: shots[0].images[1].role: reference images cannot be mixed with first_frame/last_frame"]),
    ("references-on-1.0-pro", yaml(f"""\
        version: 1
        name: t
        shots:
          - prompt: a fox
            images:
              - {{url: {URL}, role: reference_image}}
        """), ["6:50: shots[0].images[0].role: doubao-seedance-1-0-pro-250528 takes no reference images"]),
    ("lite-t2v-with-image", yaml(f"""\
        version: 1
        name: t
        shots:
          - prompt: a fox
            model: doubao-seedance-1-0-lite-t2v-250428
            images:
              - {{url: {URL}, role: first_frame}}
        """), ["7:50: shots[0].images[0].role: doubao-seedance-1-0-lite-t2v-250428 takes no images "
               "(text-to-video only)"]),
    ("lite-t2v-chained", yaml("""\
        version: 1
        name: t
        shots:
          - prompt: a fox
          - prompt: the fox runs
            chain: true
            model: doubao-seedance-1-0-lite-t2v-250428
        """), ["6:12: shots[1].chain: doubao-seedance-1-0-lite-t2v-250428 takes no images (text-to-video only)"]),
    ("lite-i2v-without-image", yaml("""\
        version: 1
        name: t
        shots:
          - prompt: a fox
            model: doubao-seedance-1-0-lite-i2v-250428
        """), ["4:5: shots[0]: doubao-seedance-1-0-lite-i2v-250428 needs an image (first_frame or reference_image)"]),
    ("lite-i2v-5-references", yaml("""\
        version: 1
        name: t
        shots:
          - prompt: a fox
            model: doubao-seedance-1-0-lite-i2v-250428
            images:
        """) + refs(5),
     ["11:50: shots[0].images[4].role: doubao-seedance-1-0-lite-i2v-250428 takes at most 4 reference images"]),
    ("2.0-10-references", yaml("""\
        version: 1
        name: t
        shots:
          - prompt: a fox
            model: doubao-seedance-2-0-260128
            images:
        """) + refs(10),
     ["16:50: shots[0].images[9].role: doubao-seedance-2-0-260128 takes at most 9 reference images"]),
    ("last-frame-on-pro-fast", yaml(f"""\
        version: 1
        name: t
        shots:
          - prompt: a fox
            model: doubao-seedance-1-0-pro-fast-251015
            images:
              - {{url: {URL}, role: first_frame}}
              - {{url: {URL}, role: last_frame}}
        """), ["8:50: shots[0].images[1].role: doubao-seedance-1-0-pro-fast-251015 does not support a last_frame"]),
    ("image-two-sources", yaml(f"""\
        version: 1
        name: t
        shots:
          - prompt: a fox
            images:
              - {{path: media/a.jpg, url: {URL}}}
        """), ["6:9: shots[0].images[0]: needs exactly one of path, url, from (found: path, url)"]),
    ("image-no-source", yaml("""\
        version: 1
        name: t
        shots:
          - prompt: a fox
            images:
              - {role: first_frame}
        """), ["6:9: shots[0].images[0]: needs exactly one of path, url, from (found: none)"]),
    ("role-unknown", yaml(f"""\
        version: 1
        name: t
        shots:
          - prompt: a fox
            images:
              - {{url: {URL}, role: middle_frame}}
        """), ["6:50: shots[0].images[0].role: must be one of first_frame, last_frame or reference_image "
               "(got 'middle_frame')"]),
    # --- local files -----------------------------------------------------------------------------
    ("image-missing-file", yaml("""\
        version: 1
        name: t
        shots:
          - prompt: a fox
            images:
              - {path: media/none.jpg}
        """), ["6:16: shots[0].images[0].path: media/none.jpg: file not found"]),
    ("image-not-an-image", yaml("""\
        version: 1
        name: t
        shots:
          - prompt: a fox
            images:
              - {path: media/notimage.jpg}
        """), ["6:16: shots[0].images[0].path: media/notimage.jpg: is not an image "
               "(not a format the API accepts: jpeg, png, webp, bmp, tiff, gif)"]),
    ("image-is-a-directory", yaml("""\
        version: 1
        name: t
        shots:
          - prompt: a fox
            images:
              - {path: media}
        """), ["6:16: shots[0].images[0].path: media: is not a file"]),
    ("image-too-small", yaml("""\
        version: 1
        name: t
        shots:
          - prompt: a fox
            images:
              - {path: media/tiny.png}
        """), ["6:16: shots[0].images[0].path: media/tiny.png is 200x200; each side must be between 300 "
               "and 6000 pixels"]),
    ("image-aspect", yaml("""\
        version: 1
        name: t
        shots:
          - prompt: a fox
            images:
              - {path: media/wide.png}
        """), ["6:16: shots[0].images[0].path: media/wide.png is 1500x500 (aspect 3.00); width/height must "
               "be between 0.4 and 2.5"]),
    ("image-aspect-at-the-limit", yaml("""\
        version: 1
        name: t
        shots:
          - prompt: a fox
            images:
              - {path: media/tall.png}
        """), ["6:16: shots[0].images[0].path: media/tall.png is 400x1000 (aspect 0.40); width/height must "
               "be between 0.4 and 2.5"]),
    ("image-format-not-accepted", yaml("""\
        version: 1
        name: t
        shots:
          - prompt: a fox
            images:
              - {path: media/c.ppm}
        """), ["6:16: shots[0].images[0].path: media/c.ppm: is a PPM image; the API accepts jpeg, png, webp, "
               "bmp, tiff, gif"]),
    ("image-30-mb", yaml("""\
        version: 1
        name: t
        shots:
          - prompt: a fox
            images:
              - {path: media/huge.png}
        """), ["6:16: shots[0].images[0].path: media/huge.png is 30.0 MB; the API takes images under 30 MB"]),
    ("music-missing", "version: 1\nname: t\noutput:\n  music: {path: media/none.mp3}\nshots:\n  - prompt: a\n",
     ["4:17: output.music.path: media/none.mp3: file not found"]),
    ("music-two-sources",
     'version: 1\nname: t\noutput:\n  music: {path: media/rain.mp3, url: "https://e.com/a.mp3"}\n'
     "shots:\n  - prompt: a\n",
     ["4:10: output.music: needs exactly one of path, url"]),
    ("caption-font-missing", yaml("""\
        version: 1
        name: t
        shots:
          - prompt: a fox
            caption: {text: hello, font: fonts/none.ttf}
        """), ["5:34: shots[0].caption.font: fonts/none.ttf: file not found"]),
    # --- prompt and numeric ranges ---------------------------------------------------------------
    ("prompt-too-long", "version: 1\nname: t\nshots:\n  - prompt: " + "x" * 1001 + "\n",
     ["4:13: shots[0].prompt: is 1001 characters; the API takes at most 1000"]),
    ("seed-above", "version: 1\nname: t\nshots:\n  - prompt: a fox\n    seed: 4294967296\n",
     ["5:11: shots[0].seed: must be at most 4294967295 (got 4294967296)"]),
    ("seed-below", "version: 1\nname: t\ndefaults:\n  seed: -2\nshots:\n  - prompt: a fox\n",
     ["4:9: defaults.seed: must be at least -1 (got -2)"]),
    ("expires-below", "version: 1\nname: t\nshots:\n  - prompt: a fox\n    execution_expires_after: 100\n",
     ["5:30: shots[0].execution_expires_after: must be at least 3600 (got 100)"]),
    ("expires-above", "version: 1\nname: t\nshots:\n  - prompt: a fox\n    execution_expires_after: 259201\n",
     ["5:30: shots[0].execution_expires_after: must be at most 259200 (got 259201)"]),
    # --- references between shots ---------------------------------------------------------------
    ("from-unknown", yaml("""\
        version: 1
        name: t
        shots:
          - id: walk
            prompt: she walks
          - prompt: the fox
            images:
              - {from: wlk}
        """), ['8:16: shots[1].images[0].from: unknown shot "wlk" (did you mean "walk"?)']),
    ("from-later-shot", yaml("""\
        version: 1
        name: t
        shots:
          - id: a
            prompt: first
            images:
              - {from: b}
          - id: b
            prompt: second
        """), ['7:16: shots[0].images[0].from: must name an earlier shot, not "b", a later shot']),
    ("from-itself", yaml("""\
        version: 1
        name: t
        shots:
          - id: a
            prompt: first
            images:
              - {from: a}
        """), ["7:16: shots[0].images[0].from: must name an earlier shot, not itself"]),
    ("chain-on-first-shot", "version: 1\nname: t\nshots:\n  - prompt: a fox\n    chain: true\n",
     ["5:12: shots[0].chain: the first shot has no previous shot to chain from"]),
    ("duplicate-ids", "version: 1\nname: t\nshots:\n  - id: a\n    prompt: one\n  - id: a\n    prompt: two\n",
     ['6:9: shots[1].id: duplicate shot id "a" (also shots[0])']),
    ("duplicate-default-id", "version: 1\nname: t\nshots:\n  - id: shot-2\n    prompt: one\n  - prompt: two\n",
     ['6:5: shots[1]: duplicate shot id "shot-2" (also shots[0])']),
    # --- assembly --------------------------------------------------------------------------------
    ("trim-past-end", "version: 1\nname: t\nshots:\n  - prompt: a fox\n    duration: 4\n"
     "    trim: {start: 1, end: 7}\n",
     ["6:27: shots[0].trim.end: 7.0 is past the clip's end (4 s)"]),
    ("trim-start-past-end", "version: 1\nname: t\nshots:\n  - prompt: a fox\n    duration: 4\n"
     "    trim: {start: 5}\n",
     ["6:19: shots[0].trim.start: 5.0 is past the clip's end (4 s)"]),
    ("trim-end-before-start", "version: 1\nname: t\nshots:\n  - prompt: a fox\n    duration: 4\n"
     "    trim: {start: 2, end: 1}\n",
     ["6:11: shots[0].trim: end (1.0) must be after start (2.0)"]),
    ("transition-as-long-as-clip", yaml("""\
        version: 1
        name: t
        shots:
          - prompt: a fox
          - prompt: a cat
            duration: 3
            transition: {type: crossfade, duration: 3}
        """), ["7:45: shots[1].transition.duration: transitions take 3 s of shot shot-2, which shows only 3 s"]),
    ("output-transition-in-and-out", yaml("""\
        version: 1
        name: t
        output:
          transition: {type: crossfade, duration: 1.5}
        shots:
          - prompt: a
          - prompt: b
            duration: 4
            trim: {start: 1, end: 3.5}
          - prompt: c
        """), ["4:43: output.transition.duration: transitions take 3 s of shot shot-2, which shows only 2.5 s"]),
    ("transition-type", "version: 1\nname: t\nshots:\n  - prompt: a fox\n    transition: {type: wipe}\n",
     ["5:24: shots[0].transition.type: must be one of cut, crossfade or fade (got 'wipe')"]),
    ("output-size", "version: 1\nname: t\noutput:\n  size: 1280*720\nshots:\n  - prompt: a fox\n",
     ["4:9: output.size: must be WIDTHxHEIGHT, e.g. 1280x720 (got '1280*720')"]),
    ("output-size-odd", "version: 1\nname: t\noutput:\n  size: 1279x720\nshots:\n  - prompt: a fox\n",
     ["4:9: output.size: width and height must be even (H.264 with yuv420p)"]),
]  # fmt: skip


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    make_media(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def validate(workdir: Path, text: str, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, list[str], str]:
    (workdir / FILE).write_text(text, encoding="utf-8")
    code = main(["validate", FILE, *extra])
    captured = capsys.readouterr()
    return code, captured.err.splitlines(), captured.out


def test_the_corpus_covers_enough_rules() -> None:
    assert len(CASES) >= 45
    assert len({case_id for case_id, _, _ in CASES}) == len(CASES)


@pytest.mark.parametrize(("text", "expected"), [(t, e) for _, t, e in CASES], ids=[c[0] for c in CASES])
def test_invalid_storyboard_prints_exact_lines_and_exits_2(
    workdir: Path, capsys: pytest.CaptureFixture[str], text: str, expected: list[str]
) -> None:
    code, err, out = validate(workdir, text, capsys)
    want = [f"{FILE}: {line}" if line[0].isalpha() else f"{FILE}:{line}" for line in expected]
    assert err == want
    assert code == 2
    assert out == ""


def test_every_independent_problem_in_a_file_is_reported(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = yaml("""\
        version: 1
        name: t
        shots:
          - prompt: a fox
            duration: 13
          - prompt: a cat
            resolution: 4k
          - prompt: a bird
            images:
              - {path: media/none.jpg}
        """)
    code, err, _ = validate(workdir, text, capsys)
    assert err == [
        f"{FILE}:5:15: shots[0].duration: must be between 2 and 12 for doubao-seedance-1-0-pro-250528",
        f"{FILE}:7:17: shots[1].resolution: 4k is not available for doubao-seedance-1-0-pro-250528 "
        "(choose 480p, 720p or 1080p)",
        f"{FILE}:10:16: shots[2].images[0].path: media/none.jpg: file not found",
    ]
    assert code == 2


def test_type_errors_and_template_errors_are_reported_together(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = yaml("""\
        version: 1
        name: t
        shots:
          - prompt: a {{ coat }} fox
            seed: lots
            durration: 4
        """)
    code, err, _ = validate(workdir, text, capsys)
    assert err == [
        f"{FILE}:4:13: shots[0].prompt: undefined variable 'coat'",
        f"{FILE}:5:11: shots[0].seed: must be an integer (got 'lots')",
        f'{FILE}:6:5: shots[0].durration: unknown key (did you mean "duration"?)',
    ]
    assert code == 2


def test_warnings_print_but_exit_0(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = yaml("""\
        version: 1
        name: t
        shots:
          - prompt: a fox runs --dur 5
            generate_audio: true
            service_tier: flex
            transition: {type: fade}
        """)
    code, err, out = validate(workdir, text, capsys)
    assert err == [
        f"{FILE}:4:13: warning: shots[0].prompt: inline --dur flag in the prompt: the API may ignore it; "
        "use the duration field",
        f"{FILE}:5:21: warning: shots[0].generate_audio: doubao-seedance-1-0-pro-250528 makes no audio; "
        "generate_audio is ignored",
        f"{FILE}:6:19: warning: shots[0].service_tier: AceData no longer accepts service_tier (flex is not "
        "offered); it is not sent",
        f"{FILE}:7:17: warning: shots[0].transition: the first shot has no transition into it; ignored",
    ]
    assert out == f"{FILE}: ok (1 shot)\n"
    assert code == 0


def test_warnings_are_shown_alongside_errors(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = "version: 1\nname: t\nshots:\n  - prompt: a fox --seed 3\n    duration: 1\n"
    code, err, _ = validate(workdir, text, capsys)
    assert err == [
        f"{FILE}:4:13: warning: shots[0].prompt: inline --seed flag in the prompt: the API may ignore it; "
        "use the seed field",
        f"{FILE}:5:15: shots[0].duration: must be between 2 and 12 for doubao-seedance-1-0-pro-250528",
    ]
    assert code == 2


def test_frame_rate_flag_warns_that_the_rate_is_fixed(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err, _ = validate(workdir, "version: 1\nname: t\nshots:\n  - prompt: |\n      a fox --fps 30\n", capsys)
    assert err == [
        f"{FILE}:4:13: warning: shots[0].prompt: inline --fps flag in the prompt: the API may ignore it; "
        "the frame rate is always 24"
    ]
    assert code == 0


def test_one_bad_file_among_good_ones_exits_2(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "good.yaml").write_text("version: 1\nname: g\nshots:\n  - prompt: a fox\n")
    code, err, out = validate(workdir, "version: 1\nname: t\n", capsys, "good.yaml", "missing.yaml")
    assert err == [f'{FILE}:1:1: missing required key "shots"', "missing.yaml: file not found"]
    assert out == "good.yaml: ok (1 shot)\n"
    assert code == 2


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"version: 1\nname: caf\xe9\n", ":2:10: is not UTF-8 text"),
        (None, ": is a directory, not a storyboard file"),
    ],
    ids=["latin-1", "directory"],
)
def test_unreadable_files_get_one_line(
    workdir: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, expected: str
) -> None:
    if content is None:
        (workdir / FILE).mkdir()
    else:
        (workdir / FILE).write_bytes(content)
    assert main(["validate", FILE]) == 2
    assert capsys.readouterr().err.splitlines() == [FILE + expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: 1\nname: t\nshots: &s [*s]\n", "3:8: shots[0]: an alias refers to a node that contains it"),
        (
            "version: 1\nname: t\nvars: {x: " + "[" * 2000 + "]" * 2000 + "}\n",
            "1:1: YAML error: lists and mappings are nested too deeply",
        ),
        (
            "version: 1\nname: t\nvars:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(f"  {k}: &{k} [{', '.join([f'*{p}'] * 10)}]\n" for p, k in zip("abcd", "bcde", strict=True)),
            # where the cap is hit depends on the build order; the line names a value inside `e`
            "4:28: vars.e[7][8][8][8][6]: the document expands to more than 100000 values (aliases of aliases?)",
        ),
    ],
    ids=["self-alias", "deep-nesting", "alias-bomb"],
)
def test_pathological_yaml_is_an_error_not_a_crash(
    workdir: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    code, err, _ = validate(workdir, text, capsys)
    assert err == [f"{FILE}:{expected}"]
    assert code == 2
