"""Exact money: amounts as `Decimal` (never float), each currency rounded half-up to its ISO 4217 minor unit.

The minor unit (EUR, CNY: 2 decimals; JPY, KRW: none; KWD: 3) comes from the ISO 4217 table as the `iso4217`
package ships it (the maintenance agency's list, re-released with each amendment); babel and pycountry do not
carry it reliably.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from typing import Any


class AmountError(ValueError):
    """An amount or currency a person typed cannot be used; the message says why in one line."""


# ISO 4217's minor units as the iso4217 package ships them (1.16.20260101): reading a currency, which the settings
# check does for every command, then parses no XML table and builds no 178-member Enum (~15 ms of `milsetctl status`,
# issue 18). tests/test_cli_imports.py compares this copy with the installed package; a code not here (no minor
# unit, added since, mistyped) goes to the package, which says what it is.
_TWO_DECIMAL_CODES = """
AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW
CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF
IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK
MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP
SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XAD XCD XCG
YER ZAR ZMW ZWG"""
_TWO_DECIMALS = frozenset(_TWO_DECIMAL_CODES.split())
_OTHER_DECIMALS = {
    "BHD": 3, "BIF": 0, "CLF": 4, "CLP": 0, "DJF": 0, "GNF": 0, "IQD": 3, "ISK": 0, "JOD": 3, "JPY": 0, "KMF": 0,
    "KRW": 0, "KWD": 3, "LYD": 3, "OMR": 3, "PYG": 0, "RWF": 0, "TND": 3, "UGX": 0, "UYI": 0, "UYW": 4, "VND": 0,
    "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
}


@cache
def minor_unit(currency: str) -> int:
    """Decimals of `currency`'s minor unit (ISO 4217 "exponent"): EUR 2, CNY 2, JPY 0, KWD 3.

    Raises AmountError for a code ISO 4217 does not list, or one with no minor unit (gold, SDR: not money one
    pays a registration in)."""
    code = str(currency).strip().upper()
    known = 2 if code in _TWO_DECIMALS else _OTHER_DECIMALS.get(code)
    if known is not None:
        return known
    from iso4217 import Currency

    try:
        found = Currency(code)
    except ValueError as exc:
        raise AmountError(f"{currency!r} is not an ISO 4217 currency code (EUR, CNY, JPY, USD...)") from exc
    if found.exponent is None:
        raise AmountError(f"{code} ({found.currency_name}) has no minor unit: not a currency fees are paid in")
    return int(found.exponent)


def quantum(currency: str) -> Decimal:
    """The smallest amount of the currency: Decimal('0.01') for EUR, Decimal('1') for JPY."""
    return Decimal(1).scaleb(-minor_unit(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    """`amount` rounded half-up to the currency's minor unit (750.005 EUR -> 750.01; 750.5 JPY -> 751)."""
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def money_text(amount: Decimal, currency: str) -> str:
    """The amount as a decimal string with exactly the minor unit's decimals: '750.00' (EUR), '750' (JPY)."""
    return f"{round_money(amount, currency):f}"


_PLAIN = re.compile(r"^\d+(?:\.\d+)?$")
_GROUPED = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$")  # 1,000.00
_DECIMAL_COMMA = re.compile(r"^\d+,\d+$")  # 750,5: a decimal comma, read only with the minor unit's decimals
_EUROPEAN = re.compile(r"^(?:\d{1,3}(?:\.\d{3})+|\d+),(?P<minor>\d+)$")  # 1.000,00 and 1000,50
_ONE_GROUP = re.compile(r"^(?P<int>[1-9]\d{0,2})(?P<sep>[.,])(?P<frac>\d{3})$")  # 2.500, 1,500: thousands or decimals?
_SYMBOLS = {"€": "EUR", "¥": None, "￥": None, "$": "USD", "£": "GBP"}  # ¥ is both CNY and JPY: any of the two


def parse_amount(value: Any, currency: str, what: str = "amount") -> Decimal:
    """A paid amount as a person or a spreadsheet writes it -> exact Decimal in `currency`.

    Reads 750, 750.00, 1,000.00, 1.000,00 and 1000,50 (a decimal comma followed by exactly the currency's
    decimals), "EUR 750", "750 EUR", "€750", a number cell of an XLSX (its shortest decimal
    form, so 750.1 stays 750.1; binary noise under 1e-9 is dropped: 30.099999999999998 is 30.10). Raises
    AmountError (one line, naming `what`) for text that is not an amount, a negative amount, another currency's
    code or symbol, more decimals than the currency has (0.5 JPY), and text whose only separator is followed by
    three digits (2.500, 1,500: a thousands group or decimals?), naming both readings."""
    code = str(currency).strip().upper()
    if isinstance(value, bool) or value is None:
        raise AmountError(f"{what}: no amount given")
    if isinstance(value, Decimal | int | float):
        if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
            raise AmountError(f"{what}: {value!r} is not an amount")
        text = repr(value) if isinstance(value, float) else str(value)
        if isinstance(value, float):  # a computed cell (=0.1*301 is 30.099999999999998): the binary noise goes
            exact = Decimal(text)
            near = exact.quantize(quantum(code), rounding=ROUND_HALF_UP)
            if abs(exact - near) < Decimal("1e-9"):
                text = str(near)
    else:
        text = str(value)
    typed = not isinstance(value, Decimal | int | float)  # text, where a separator may be a thousands one
    shown = text.strip()
    t = unicodedata.normalize("NFKC", shown).replace(" ", "").replace("\u00a0", "")
    if not t:
        raise AmountError(f"{what}: no amount given")
    negative = False
    for _ in range(3):  # sign, symbol and code in any order: -€750, EUR -750, (750) as accountants write it
        before = t
        if t.startswith("(") and t.endswith(")"):
            negative, t = True, t[1:-1]
        if t[:1] in "+-" and t[:1]:
            negative, t = negative or t[0] == "-", t[1:]
        for symbol, symbol_code in _SYMBOLS.items():
            if t.startswith(symbol) or t.endswith(symbol):
                if symbol_code is not None and symbol_code != code:
                    raise AmountError(f"{what}: {shown!r} is in {symbol_code}, but the fees are in {code}")
                if symbol_code is None and code not in ("CNY", "JPY"):
                    raise AmountError(f"{what}: {shown!r} is in yuan or yen, but the fees are in {code}")
                t = t.strip(symbol)
        m = re.match(r"^([A-Za-z]{3})?(.*?)([A-Za-z]{3})?$", t)
        if m and (m.group(1) or m.group(3)) and re.search(r"\d", m.group(2)):
            named = (m.group(1) or m.group(3)).upper()
            if named != code:
                raise AmountError(f"{what}: {shown!r} is in {named}, but the fees are in {code}")
            t = m.group(2)
        if t == before:
            break
    decimals = minor_unit(code)
    one_group = _ONE_GROUP.match(t) if typed else None
    if one_group and not (one_group["sep"] == "." and decimals == 3):  # KWD 1.500: its own three decimals
        # 2.500 is 2500 in Germany and 2.5 in Britain; 1,500 the other way round: not guessed
        thousands = one_group["int"] + one_group["frac"]
        fraction = Decimal(f"{one_group['int']}.{one_group['frac']}")
        small = f"{fraction.normalize():f}"
        fits = fraction == fraction.quantize(quantum(code), rounding=ROUND_HALF_UP)
        instead = f"{thousands} or {money_text(fraction, code)}" if fits else thousands
        raise AmountError(f"{what}: {shown!r} could be {thousands} or {small}: write {instead}")
    european = _EUROPEAN.match(t) if typed else None
    if european and decimals and len(european["minor"]) == decimals:  # 1.000,00 EUR: the minor unit settles it
        t = t.replace(".", "").replace(",", ".")
    elif _GROUPED.match(t):
        t = t.replace(",", "")
    elif _DECIMAL_COMMA.match(t) or european:
        point = Decimal(t.replace(".", "").replace(",", "."))
        if point != round_money(point, code):
            unit = "whole amounts only" if decimals == 0 else f"at most {decimals} decimals"
            raise AmountError(f"{what}: {shown!r} has more decimals than {code} has ({unit})")
        instead = money_text(point, code)
        if not decimals:
            raise AmountError(f"{what}: {shown!r}: {code} has no decimals (write {instead})")
        raise AmountError(f"{what}: {shown!r}: write the amount with a decimal point ({instead}), or with a decimal "
                          f"comma and exactly the {decimals} decimals {code} has ({instead.replace('.', ',')})")
    if not _PLAIN.match(t):
        raise AmountError(f"{what}: {shown!r} is not an amount (write it as 750.00)")
    try:
        amount = Decimal(t)
    except InvalidOperation as exc:  # not reached for text the pattern let through; kept as a guard
        raise AmountError(f"{what}: {shown!r} is not an amount") from exc
    if negative and amount != 0:
        raise AmountError(f"{what}: {shown!r} is negative; an amount paid is 0 or more")
    if amount != amount.quantize(quantum(code), rounding=ROUND_HALF_UP):
        unit = "whole amounts only" if decimals == 0 else f"at most {decimals} decimals"
        raise AmountError(f"{what}: {shown!r} has more decimals than {code} has ({unit})")
    return amount.quantize(quantum(code))
