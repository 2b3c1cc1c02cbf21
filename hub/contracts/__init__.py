"""ODCS data contracts: canonical columns, keys, classification and the checks of each stream."""

from hub.contracts.model import Column, ContractRegistry, QualityRule, StreamContract, parse_contract

__all__ = ["Column", "ContractRegistry", "QualityRule", "StreamContract", "parse_contract"]
