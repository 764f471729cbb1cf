import json
import pytest
import subprocess
import sys

from restore.evaluate import evaluate, identity, naive_reversal, sacre_scores

HYPS = ["the cat sat on the mat", "a quick brown fox jumps", "hello there world"]
REFS = ["the cat sat on a mat", "the quick brown fox jumped", "hello there world"]


def test_scores_match_sacrebleu_cli(tmp_path):
    h, r = tmp_path / "h.txt", tmp_path / "r.txt"
    h.write_text("\n".join(HYPS) + "\n")
    r.write_text("\n".join(REFS) + "\n")
    cli = json.loads(subprocess.run([sys.executable, "-m", "sacrebleu", str(r), "-i", str(h), "-m", "bleu", "chrf",
                                     "-w", "2"], capture_output=True, text=True, check=True).stdout)
    ours = subprocess.run([sys.executable, "-m", "restore.cli", "eval", "--hyp", str(h), "--ref", str(r)],
                          capture_output=True, text=True, check=True).stdout.splitlines()
    assert ours[0].startswith(f"BLEU = {cli[0]['score']:.2f}  {cli[0]['signature']}") and "tok:13a" in ours[0]
    assert ours[1].startswith(f"chrF = {cli[1]['score']:.2f}  {cli[1]['signature']}")


def test_harness_metrics(lexicon):
    pairs = [
        {"spun": "we met successful the metropolis", "clean": "we met in the city",
         "spans": [{"start": 7, "end": 17, "orig": "in"}, {"start": 22, "end": 32, "orig": "city"}]},
        {"spun": "a successful launch today", "clean": "a successful launch today", "spans": []},
    ]
    ident = evaluate("identity", identity, pairs)
    assert ident.word_acc == 0 and ident.clean_changes_per_1000 == 0 and ident.exact == 50
    naive = evaluate("naive", naive_reversal(lexicon), pairs)
    assert naive.word_acc == 100  # both swaps undone
    assert naive.clean_changes_per_1000 == 250  # but "successful" in clean text is damaged
    assert naive.bleu > ident.bleu
    assert sacre_scores(["a b c d e"], ["a b c d e"])["BLEU"][0] == pytest.approx(100)


def test_the_table_shows_no_figure_where_there_is_none(lexicon):
    from restore.evaluate import format_table

    spun_only = [{"spun": "we met successful the metropolis", "clean": "we met in the city",
                  "spans": [{"start": 7, "end": 17, "orig": "in"}, {"start": 22, "end": 32, "orig": "city"}]}]
    both = spun_only + [{"spun": "a successful launch today", "clean": "a successful launch today", "spans": []}]
    rows = format_table([evaluate("naive", naive_reversal(lexicon), spun_only),
                         evaluate("naive both", naive_reversal(lexicon), both)]).splitlines()
    assert rows[2].split(" | ")[5] == "—"  # no clean words to count changes on: not 0.0
    assert rows[3].split(" | ")[5] == "250.0"
    assert format_table([evaluate("identity", identity, both)]).splitlines()[2].endswith("| — |")  # no speed


def test_edit_outcomes_count_restored_swaps_and_edits_to_words_not_spun():
    from restore.evaluate import edit_outcomes
    from restore.pipeline import Edit

    row = {"spun": "He met successful the capital betwixt talks.",
           "spans": [{"start": 7, "end": 17, "orig": "in"}, {"start": 30, "end": 37, "orig": "between"}]}
    edits = [Edit(7, 17, "successful", "In", 0.9),  # restored (case aside)
             Edit(30, 37, "betwixt", "among", 0.8),  # inside a swap, another word: neither
             Edit(22, 29, "capital", "city", 0.6)]  # a word the spinner left alone
    assert edit_outcomes(row, edits) == (1, 1)
    assert edit_outcomes(row, []) == (0, 0)
