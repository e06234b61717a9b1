"""Cloud code of the cloud_triggers SDK suite (deployed to app A before the suite runs)."""

from hangar_cloud import ParseError, ValidationError, after_save, before_delete, before_find, before_save


@before_save("TriggerOrder")
def order_before_save(request):
    order = request.object
    if order.get("qty", 0) <= 0:
        raise ValidationError("qty must be positive")
    if order.get("item") == "forbidden":
        raise ParseError(3001, "this item cannot be ordered")
    order["item"] = order.get("item", "").strip().lower()
    order["total"] = order["qty"] * 3
    if request.original is not None:
        order["previousQty"] = request.original.get("qty")


@after_save("TriggerOrder")
def order_after_save(request):
    request.data.as_master().save("TriggerAudit", {"orderId": request.object.id, "qty": request.object.get("qty")})


@before_delete("TriggerOrder")
def order_before_delete(request):
    if request.object.get("locked"):
        raise ParseError(3002, "locked orders stay")


@before_find("TriggerListing")
def listing_before_find(request):
    if not request.master:
        request.query.where["visible"] = True
