"""FOCUS column names across versions 0.5 to 1.3: version detection, renames, enum values. Pure.

Sources: the FOCUS specification's CHANGELOG (column history table) and the 1.1, 1.2 and 1.3
releases. Files are matched by column name, case-insensitively, because exporters drift
(``InvoiceID`` for ``InvoiceId``); a column renamed by a later version is mapped to its
current name; provider columns (``x_`` prefix) are kept; anything else is ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = [
    "ENUM_COLUMNS",
    "FOCUS_COLUMNS",
    "RENAMED",
    "VERSIONS",
    "ColumnMap",
    "canonical_enum",
    "detect_version",
    "map_columns",
]

# Columns of each version's dataset, by the version that introduced them.
_INTRODUCED: dict[str, tuple[str, ...]] = {
    "0.5": (
        "AvailabilityZone", "BilledCost", "BillingAccountId", "BillingAccountName",
        "BillingCurrency", "BillingPeriodEnd", "BillingPeriodStart", "ChargePeriodEnd",
        "ChargePeriodStart", "InvoiceIssuerName", "ProviderName", "PublisherName", "ResourceId",
        "ResourceName", "ServiceCategory", "ServiceName", "SubAccountId", "SubAccountName",
    ),
    "1.0-preview": (
        "ChargeCategory", "ChargeDescription", "ChargeFrequency", "CommitmentDiscountCategory",
        "CommitmentDiscountId", "CommitmentDiscountName", "CommitmentDiscountType",
        "EffectiveCost", "ListCost", "ListUnitPrice", "PricingCategory", "PricingQuantity",
        "PricingUnit", "ResourceType", "SkuId", "SkuPriceId", "Tags",
    ),
    "1.0": (
        "ChargeClass", "CommitmentDiscountStatus", "ConsumedQuantity", "ConsumedUnit",
        "ContractedCost", "ContractedUnitPrice", "RegionId", "RegionName",
    ),
    "1.1": (
        "CapacityReservationId", "CapacityReservationStatus", "CommitmentDiscountQuantity",
        "CommitmentDiscountUnit", "ServiceSubcategory", "SkuMeter", "SkuPriceDetails",
    ),
    "1.2": (
        "BillingAccountType", "InvoiceId", "PricingCurrency",
        "PricingCurrencyContractedUnitPrice", "PricingCurrencyEffectiveCost",
        "PricingCurrencyListUnitPrice", "SubAccountType",
    ),
    "1.3": (
        "AllocatedMethodDetails", "AllocatedMethodId", "AllocatedResourceId",
        "AllocatedResourceName", "AllocatedTags", "ContractApplied", "HostProviderName",
        "ServiceProviderName",
    ),
}  # fmt: skip
VERSIONS = ("0.5", "1.0-preview", "1.0", "1.1", "1.2", "1.3")
FOCUS_COLUMNS: dict[str, str] = {c: v for v, cols in _INTRODUCED.items() for c in cols}

# Old name -> current name. 1.0-preview renamed AmortizedCost and ChargeType; 1.0 renamed
# UsageQuantity, UsageUnit and Region. (1.3 deprecated ProviderName and PublisherName in favour
# of ServiceProviderName and HostProviderName: both stay, see models/focus.py.)
RENAMED = {
    "AmortizedCost": "EffectiveCost",
    "ChargeType": "ChargeCategory",
    "UsageQuantity": "ConsumedQuantity",
    "UsageUnit": "ConsumedUnit",
    "Region": "RegionId",
}
_REMOVED = {"ChargeSubcategory"}  # 1.0-preview only, dropped in 1.0
_PRE_1_0 = {*RENAMED, *_REMOVED}

_ENUMS: dict[str, tuple[str, ...]] = {
    "ChargeCategory": ("Usage", "Purchase", "Tax", "Credit", "Adjustment"),
    "ChargeClass": ("Correction",),
    "ChargeFrequency": ("One-Time", "Recurring", "Usage-Based"),
    "PricingCategory": ("Standard", "Dynamic", "Committed", "Other"),
    "CommitmentDiscountCategory": ("Spend", "Usage"),
    "CommitmentDiscountStatus": ("Used", "Unused"),
    "CapacityReservationStatus": ("Used", "Unused"),
    "ServiceCategory": (
        "AI and Machine Learning", "Analytics", "Business Applications", "Compute", "Databases",
        "Developer Tools", "Multicloud", "Identity", "Integration", "Internet of Things",
        "Management and Governance", "Media", "Migration", "Mobile", "Networking", "Security",
        "Storage", "Web", "Other",
    ),
}  # fmt: skip
_ENUM_LOOKUP = {c: {v.lower(): v for v in values} for c, values in _ENUMS.items()}
ENUM_COLUMNS = frozenset(_ENUMS)


@dataclass
class ColumnMap:
    """How a file's columns map to FOCUS: file column -> FOCUS name, and what was left out."""

    version: str
    focus: dict[str, str] = field(default_factory=dict)  # file column -> current FOCUS name
    renamed: dict[str, str] = field(default_factory=dict)  # file column -> FOCUS name (renamed)
    provider: list[str] = field(default_factory=list)  # x_ columns, kept as they are
    ignored: list[str] = field(default_factory=list)  # neither FOCUS nor x_
    _by_focus: dict[str, str] = field(default_factory=dict, repr=False)

    def source_of(self, focus_name: str) -> str | None:
        """The file column that holds ``focus_name``, if any."""
        if len(self._by_focus) != len(self.focus):
            self._by_focus = {f: c for c, f in self.focus.items()}
        return self._by_focus.get(focus_name)


def detect_version(names: Iterable[str]) -> str:
    """The newest FOCUS version whose new columns appear, e.g. '1.2'; '1.0' when none do."""
    present = {n.lower() for n in names}
    if present & {n.lower() for n in _PRE_1_0} and "consumedquantity" not in present:
        return "1.0-preview" if "effectivecost" in present or "chargecategory" in present else "0.5"
    for version in ("1.3", "1.2", "1.1"):
        if present & {c.lower() for c in _INTRODUCED[version]}:
            return version
    return "1.0"


def map_columns(names: Iterable[str]) -> ColumnMap:
    """Map a file's header to current FOCUS names (case-insensitive, renames applied)."""
    names = list(names)
    mapping = ColumnMap(version=detect_version(names))
    by_lower = {c.lower(): c for c in FOCUS_COLUMNS}
    renamed_lower = {old.lower(): new for old, new in RENAMED.items()}
    taken: set[str] = set()
    # exact and case-drifted current names first, so an old name never shadows a current one
    for name in names:
        current = by_lower.get(name.strip().lower())
        if current and current not in taken:
            mapping.focus[name] = current
            taken.add(current)
            if name != current:
                mapping.renamed[name] = current
    for name in names:
        if name in mapping.focus:
            continue
        key = name.strip().lower()
        if key in renamed_lower and renamed_lower[key] not in taken:
            mapping.focus[name] = mapping.renamed[name] = renamed_lower[key]
            taken.add(renamed_lower[key])
        elif key.startswith("x_"):
            mapping.provider.append(name)
        else:
            mapping.ignored.append(name)
    return mapping


def canonical_enum(column: str, value: str) -> tuple[str, bool]:
    """The spec's spelling of an enum value ('Usage-based' -> 'Usage-Based'); False if unknown."""
    lookup = _ENUM_LOOKUP.get(column)
    if lookup is None:
        return value, True
    found = lookup.get(value.strip().lower())
    return (found, True) if found else (value, False)
