"""Reading a CEL expression's shape: the top-level operands every relying party's audit relies on."""

from hypothesis import given
from hypothesis import strategies as st

from components.relying_parties.gcp.audits import check_condition_pins_account
from components.rules.cel_text import balanced, pins_on_every_path, split_top_level, unwrap

ACCOUNT = "assertion['https://sts.amazonaws.com/'].aws_account == '123456789012'"


def is_pin(clause):
    return clause == "pin"


def test_operators_inside_strings_and_brackets_do_not_split():
    assert split_top_level("a == '||' || f(b || c) || [x || y]", "||") == ["a == '||'", "f(b || c)", "[x || y]"]


def test_an_escaped_quote_does_not_end_a_string():
    assert split_top_level(r"a == 'it\'s || not' || b", "||") == [r"a == 'it\'s || not'", "b"]


def test_parentheses_around_the_whole_expression_are_dropped():
    assert unwrap(" ((a || b)) ") == "a || b"


def test_parentheses_that_do_not_enclose_everything_stay():
    assert unwrap("(a) || (b)") == "(a) || (b)"


def test_a_closing_bracket_before_its_opening_is_unbalanced():
    assert not balanced("a) || (b")


def test_an_alternative_that_pins_nothing_opens_the_expression():
    assert not pins_on_every_path("pin || true", is_pin)


def test_a_pin_anded_with_anything_pins():
    assert pins_on_every_path("other && (pin)", is_pin)


def test_a_pin_nested_in_an_open_alternative_does_not_count():
    assert not pins_on_every_path("(pin || true) && other", is_pin)


def test_a_negated_pin_pins_nothing():
    assert not pins_on_every_path("!pin", is_pin)


@given(st.lists(st.sampled_from(["a", "'x || y'", "(b || c)", "f(d, e)", "[1, 2]"]), min_size=1, max_size=6))
def test_splitting_joined_operands_gives_them_back(operands):
    assert split_top_level(" || ".join(operands), "||") == operands


def test_a_gcp_condition_whose_account_pin_sits_in_an_open_alternative_is_a_finding():
    condition = f"({ACCOUNT} || true) && assertion.aud == 'x'"
    assert [v.code for v in check_condition_pins_account(condition, "attributeCondition")] == [
        "gcp.condition.account-unpinned"]
