"""erp-reconciler: SuperOffice ERP and Quote connection settings as code."""

__version__ = "0.1.0"
