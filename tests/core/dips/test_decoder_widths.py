import pytest

from core.dips.decoder_widths import default_widths, parse_widths


def test_default_widths_halve_from_R_or_from_C_over_2_never_below_8():
    assert default_widths(2, 32, 384) == (32, 16)
    assert default_widths(2, None, 384) == (192, 96)        # the journal's C/2, C/4
    assert default_widths(3, 16, 384) == (16, 8, 8)


def test_parse_widths_reads_what_people_type_and_says_what_is_wrong():
    assert parse_widths(" 24, 12 ") == [24, 12]
    assert parse_widths("  ") is None                         # empty: the default
    with pytest.raises(ValueError, match="comma-separated"):
        parse_widths("24;12")
    with pytest.raises(ValueError, match="at least 1"):
        parse_widths("24,0")
