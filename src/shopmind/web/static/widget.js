/* shopmind storefront widget: recommendations on the shop's own pages.
 *
 * Paste into the theme, once per placement:
 *   <script async src="https://SHOPMIND/widget.js" data-key="pk_…"
 *           data-placement="for_you|similar|together" data-item="PRODUCT_ID"
 *           data-user="CUSTOMER_ID" data-user-signature="HMAC" data-n="4"
 *           data-title="Recommended for you"
 *           data-product-url="/products/{id}" data-target="#recommendations"></script>
 *
 * It asks shopmind for the placement's items with a publishable key (never the secret
 * API key), renders them with text only (no HTML from the answer is ever parsed), and
 * records what it showed (view_item_list) and what was clicked (select_item), each with
 * the placement as item_list_id. The shopper is data-user, else the Google Analytics
 * client id of the _ga cookie (so the shop's own analytics and the widget agree), else a
 * random id kept in localStorage. A customer id personalises by the customer's whole
 * history only with data-user-signature, which the shop's server computes
 * (HMAC-SHA256 of the id under the key's signing secret); unsigned, it counts as a
 * browser id.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var data = script.dataset;
  var base = new URL(script.src, document.baseURI).origin;
  var key = data.key || "";
  var placement = data.placement || "for_you";
  var n = Math.max(1, Math.min(24, parseInt(data.n || "4", 10) || 4));
  var titles = { for_you: "Recommended for you", similar: "Similar items", together: "Bought together" };

  function shopper() {
    if (data.user) return data.user;
    var ga = document.cookie.match(/(?:^|;\s*)_ga=GA\d\.\d\.(\d+\.\d+)/);
    if (ga) return ga[1];
    try {
      var id = localStorage.getItem("sm_uid");
      if (!id) {
        id = "sm." + Math.random().toString(36).slice(2) + Date.now().toString(36);
        localStorage.setItem("sm_uid", id);
      }
      return id;
    } catch (e) {
      return "sm.anonymous";
    }
  }

  function send(name, ids) {
    var body = JSON.stringify({ name: name, user_id: shopper(), placement: placement,
                                items: ids, page: location.href.slice(0, 2048) });
    var url = base + "/public/v1/events?key=" + encodeURIComponent(key);
    var blob = new Blob([body], { type: "text/plain" });
    if (!(navigator.sendBeacon && navigator.sendBeacon(url, blob))) {
      fetch(url, { method: "POST", body: body, keepalive: true, mode: "cors",
                   headers: { "Content-Type": "text/plain" } }).catch(function () {});
    }
  }

  function link(id) {
    var pattern = data.productUrl || "/products/{id}";
    return pattern.split("{id}").join(encodeURIComponent(id));
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }

  function style() {
    if (document.getElementById("sm-recs-style")) return;
    var css = el("style");
    css.id = "sm-recs-style";
    css.textContent =
      ".sm-recs{font:inherit;margin:1.5rem 0}.sm-recs h2{font-size:1.2rem;margin:0 0 .75rem}" +
      ".sm-recs ul{list-style:none;margin:0;padding:0;display:grid;gap:1rem;" +
      "grid-template-columns:repeat(auto-fill,minmax(9.5rem,1fr))}" +
      ".sm-recs a{color:inherit;text-decoration:none;display:block}" +
      ".sm-recs img,.sm-recs .sm-img{display:block;width:100%;aspect-ratio:1/1;object-fit:cover;" +
      "border-radius:.4rem;background:#f2f2f2}" +
      ".sm-recs .sm-title{display:block;margin-top:.4rem;font-weight:600;overflow-wrap:anywhere}" +
      ".sm-recs .sm-price{display:block}.sm-recs .sm-why{display:block;font-size:.85em;color:#666}";
    document.head.appendChild(css);
  }

  function price(value, currency) {
    if (value == null) return "";
    try {
      return new Intl.NumberFormat(document.documentElement.lang || undefined,
                                   { style: "currency", currency: currency || "USD" }).format(value);
    } catch (e) {
      return String(value);
    }
  }

  function render(answer) {
    if (!answer.items || !answer.items.length) return;
    style();
    var box = el("section", "sm-recs");
    box.setAttribute("data-placement", placement);
    box.appendChild(el("h2", null, data.title || titles[placement] || titles.for_you));
    var list = el("ul");
    answer.items.forEach(function (item, index) {
      var li = el("li");
      var a = el("a");
      a.href = link(item.item_id);
      a.setAttribute("data-item", item.item_id);
      if (item.image_url) {
        var img = el("img");
        img.src = item.image_url;
        img.alt = "";
        img.loading = "lazy";
        img.addEventListener("error", function () { img.replaceWith(el("span", "sm-img")); });
        a.appendChild(img);
      }
      a.appendChild(el("span", "sm-title", item.title));
      if (item.price != null) a.appendChild(el("span", "sm-price", price(item.price, item.currency)));
      a.appendChild(el("span", "sm-why", item.reason));
      a.addEventListener("click", function () { send("select_item", [item.item_id]); });
      li.appendChild(a);
      list.appendChild(li);
    });
    box.appendChild(list);
    var target = data.target ? document.querySelector(data.target) : null;
    if (target) target.appendChild(box);
    else script.parentNode.insertBefore(box, script.nextSibling);
    send("view_item_list", answer.items.map(function (i) { return i.item_id; }));
  }

  var query = "?key=" + encodeURIComponent(key) + "&placement=" + encodeURIComponent(placement) +
              "&n=" + n + "&user=" + encodeURIComponent(shopper());
  if (data.item) query += "&item=" + encodeURIComponent(data.item);
  if (data.user && data.userSignature) {
    query += "&user_signature=" + encodeURIComponent(data.userSignature);
  }
  fetch(base + "/public/v1/recommendations" + query, { mode: "cors", credentials: "omit" })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (answer) { if (answer) render(answer); })
    .catch(function () {});
})();
