"""A small store for the support assistant's tests: help pages in English and Chinese, FAQ
pairs, two products (one states it is waterproof, one says nothing of it), two customers
with an order each. Written through the store's write path."""

from __future__ import annotations

from datetime import datetime

from shopmind.store.db import Store
from shopmind.store.models import Customer, Order, OrderLine, Page, Product
from shopmind.store.writer import id_map, upsert

NOW = datetime(2026, 11, 20, 12, 0)
PAGES = [
    ("help/shipping.md", "policy", "Shipping and delivery",
     "We ship to the United States, Canada and the United Kingdom.\n\n"
     "Standard delivery takes 3 to 5 business days and costs 4.95. Express delivery takes "
     "1 to 2 business days and costs 12.00. Orders over 75.00 ship free with standard "
     "delivery.\n\nParcels leave our warehouse within one business day of the order."),
    ("help/returns.md", "policy", "Returns",
     "You can send items back within 30 days of delivery for a full refund. Items must be "
     "unworn, with their tags attached. Start a return from the link in your delivery "
     "e-mail; the return label is free.\n\nSale items can be exchanged but not refunded."),
    ("help/refunds.md", "policy", "Refunds",
     "Once your return reaches our warehouse we check it within 2 business days. The refund "
     "goes back to the original payment method and usually appears within 5 to 7 business "
     "days."),
    ("help/payment.md", "page", "Payment",
     "We accept Visa, Mastercard, American Express, PayPal and Apple Pay. Your card is "
     "charged when the order ships, not when you place it."),
    ("help/contact.md", "page", "Contact us",
     "Our team answers e-mails at help@shop.example from Monday to Friday, 9:00 to 17:00 "
     "Eastern Time. We reply within one business day."),
    ("help/zh-returns.md", "policy", "退换货说明",
     "收到商品后30天内可以申请退货，商品需保持未穿着并附带吊牌。退款会在我们收到退货后7个工作日内退回原支付方式。"),
]  # fmt: skip
FAQS = [
    ("faq:gift-wrap", "Do you offer gift wrapping?",
     "Yes. Choose gift wrapping at checkout; it costs 3.50 per order and includes a card."),
    ("faq:sizes", "How do your sizes run?",
     "Our clothes run true to size. If you are between two sizes, choose the larger one."),
]  # fmt: skip
PRODUCTS = [
    {"external_id": "alpine-shell", "title": "Alpine Shell Jacket", "brand": "Northway",
     "category": "Outerwear > Jackets", "price": 189.0, "inventory": 12,
     "attributes": {"Material": "recycled nylon", "Waterproof": "yes, 20,000 mm"},
     "description": "A light shell for wet hikes. Taped seams keep the rain out."},
    {"external_id": "cotton-tee", "title": "Everyday Cotton Tee", "brand": "Northway",
     "category": "Tops > Tees", "price": 24.0, "inventory": 0,
     "attributes": {"Material": "organic cotton"},
     "description": "A soft tee for every day. Machine washable at 30 degrees."},
]  # fmt: skip
ORDERS = [
    ("#1001", "ana@example.com", "alpine-shell", "paid", "fulfilled"),
    ("#1002", "bo@example.com", "cotton-tee", "paid", None),
]


def fill(store: Store) -> None:
    pages = [{"external_id": e, "kind": k, "title": t, "body": b, "question": None,
              "url": f"https://shop.example/{e.removesuffix('.md')}",
              "language": "zh" if "zh-" in e else "en", "updated_at": NOW}
             for e, k, t, b in PAGES]  # fmt: skip
    pages += [{"external_id": e, "kind": "faq", "title": q, "body": a, "question": q,
               "url": None, "language": "en", "updated_at": NOW} for e, q, a in FAQS]  # fmt: skip
    with store.connect() as conn:
        upsert(conn, Page, pages)
        upsert(conn, Product, [{**p, "currency": "USD", "status": "active"} for p in PRODUCTS])
        upsert(conn, Customer, [{"external_id": f"c{i}", "email": o[1]}
                                for i, o in enumerate(ORDERS)])  # fmt: skip
        customers = id_map(conn, Customer, [f"c{i}" for i in range(len(ORDERS))])
        products = id_map(conn, Product, [p["external_id"] for p in PRODUCTS])
        upsert(conn, Order, [{"external_id": n, "email": e, "customer_id": customers[f"c{i}"],
                              "created_at": NOW, "currency": "USD", "total": 100.0,
                              "financial_status": fin, "fulfillment_status": ful}
                             for i, (n, e, _, fin, ful) in enumerate(ORDERS)])  # fmt: skip
        orders = id_map(conn, Order, [o[0] for o in ORDERS])
        upsert(conn, OrderLine, [{"order_id": orders[n], "line_no": 1,
                                  "product_id": products[p], "title": p, "quantity": 1,
                                  "price": 100.0} for n, _, p, _, _ in ORDERS],
               key=["order_id", "line_no"])  # fmt: skip
