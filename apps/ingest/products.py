"""Former name of `apps.ingest.product_cache`, kept while the ingest views still import it from here."""

from apps.ingest.product_cache import ProductChanged, ProductInfo, clear_product_cache, product_for_key

__all__ = ["ProductChanged", "ProductInfo", "clear_product_cache", "product_for_key"]
