"""The reference model directly: generalised pools and IPs, exactness, validation of typed input."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction as F

import pytest

from hybridhub.hub_ext.cost.model import CostInput, CostInputError, PoolInput, compute, parse_input
from hybridhub.hub_ext.cost.money import exact, exact_str, format_amount, round_half_up

pytestmark = pytest.mark.cost


def table1(**changes) -> dict:
    data = {
        "hours": 720, "currency": "JPY", "lb_price_per_hour": Decimal("3.36"),
        "public_ip_price_per_hour": Decimal("0.67"), "public_ips": 2, "other": 200,
        "pools": [
            {"name": "B2s", "vm_price_per_hour": Decimal("11.52"), "hours_at_node_count": [0, 650, 60, 10]},
            {"name": "NV6ads_A10_v5", "vm_price_per_hour": Decimal("74.7"), "hours_at_node_count": [675, 40, 4, 1]},
            {"name": "NV18ads_A10_v5", "vm_price_per_hour": Decimal("263.61"),
             "hours_at_node_count": [710, 5, 1, Decimal("0.2")]},
        ],
    }
    data.update(changes)
    return data


def test_formula_term_by_term():
    result = compute(parse_input(table1()))
    pools = {t.label: t for t in result.terms if t.kind == "node_pools"}
    assert pools["B2s"].quantity == 800 and pools["NV6ads_A10_v5"].quantity == 51
    assert pools["NV18ads_A10_v5"].quantity == F("7.6")
    # C = C_np1 + C_np2 + C_np3 + C_lb + 2·C_ip + e
    assert result.total == F(9216) + F("3809.7") + F("2003.436") + F("2419.2") + 2 * F("482.4") + 200


def test_floats_are_read_as_written():
    as_float = compute(parse_input(table1(lb_price_per_hour=3.36, public_ip_price_per_hour=0.67)))
    assert as_float.total == F("18613.136")


@pytest.mark.parametrize("ips", [0, 1, 2, 5])
def test_any_number_of_public_ips(ips):
    result = compute(parse_input(table1(public_ips=ips)))
    assert result.total == F("18613.136") + (ips - 2) * F("482.4")


def test_any_number_of_pools_and_node_counts():
    pools = [{"name": f"p{i}", "vm_price_per_hour": i + 1, "hours_at_node_count": [0] * i + [10]} for i in range(5)]
    result = compute(parse_input(table1(pools=pools, public_ips=0, other=0, lb_price_per_hour=0)))
    # pool i: (i+1) yen/h · i nodes · 10 h
    assert [t.amount for t in result.terms if t.kind == "node_pools"] == [F(10 * i * (i + 1)) for i in range(5)]
    assert [t.key for t in result.terms][:5] == ["C_np1", "C_np2", "C_np3", "C_np4", "C_np5"]
    assert result.total == sum(10 * i * (i + 1) for i in range(5))


def test_shares_sum_to_100_exactly():
    result = compute(parse_input(table1()))
    assert sum(result.share(t) for t in result.terms) == 100
    assert sum(result.kind_shares().values()) == 100


def test_zero_total_has_zero_shares():
    data = table1(pools=[{"name": "a", "vm_price_per_hour": 0, "hours_at_node_count": [720]}],
                  lb_price_per_hour=0, public_ip_price_per_hour=0, other=0)
    result = compute(parse_input(data))
    assert result.total == 0 and set(result.kind_shares().values()) == {0}


def test_typed_input_is_checked_too():
    with pytest.raises(CostInputError) as info:
        CostInput(hours=F(10), pools=(PoolInput("a", F(1), (F(8), F(3))),), lb_price_per_hour=F(0),
                  public_ip_price_per_hour=F(0), public_ips=0, other=F(0))
    assert info.value.field == "pools[0].hours_at_node_count"


def test_rounding_is_half_away_from_zero():
    assert format_amount(F("2003.435")) == "2,003.44"
    assert format_amount(F("2003.4349")) == "2,003.43"
    assert format_amount(F("-0.005")) == "-0.01"
    assert round_half_up(F(5, 2), 0) == 3
    assert exact_str(F(1, 3), 3) == "0.333" and exact_str(F("7.60")) == "7.6"


def test_exact_refuses_floats():
    with pytest.raises(TypeError):
        exact(0.67)
    assert exact(Decimal("0.67")) == F(67, 100)
