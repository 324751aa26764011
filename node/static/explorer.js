// Corridor explorer: a live view of one node, from its own HTTP API (docs/api.md) and nothing else.
// Live data comes from the server-sent events of GET /v1/events (replaying the last blocks on load and after a
// reconnect); /v1/status, /v1/validators, /v1/currencies and the order book are polled lightly. Every API
// error is shown in the page. Minor-unit amounts are handled as BigInt and formatted with each currency's
// decimals; all API data reaches the page as text nodes (never as HTML).
"use strict";

(() => {
  const REPLAY_BLOCKS = 20; // blocks replayed on load, through ?from_height=
  const BLOCKS_SHOWN = 15;
  const TXS_SHOWN = 25;
  const BLOCKS_KEPT = 5000;
  const TXS_KEPT = 300;
  const INTERVAL_BLOCKS = 21; // the block interval is the median of the last 20 intervals
  const TPS_WINDOW_MS = 30000;
  const STATUS_EVERY_MS = 3000;
  const VALIDATORS_EVERY_MS = 10000;
  const CURRENCIES_EVERY_MS = 10000;
  const BOOK_EVERY_MS = 5000;
  const CERTIFICATE_EVERY_MS = 3000;
  const RETRY_MAX_MS = 15000;

  const CURRENCY_KINDS = new Set(["mint", "burn", "reserve_attested", "paused", "resumed", "policy_set",
    "distributor_licensed", "distributor_revoked", "currency_registered", "issuer_changed", "auditor_changed",
    "licence_granted", "licence_revoked", "licence_required_set"]);
  const BOOK_KINDS = new Set(["offer_filled", "offer_removed", "offer_placed"]);
  const REDEMPTION_KINDS = new Set(["redemption_requested", "redemption_fulfilled", "redemption_rejected",
    "redemption_cancelled", "redemption_deadline_set"]);
  const REDEMPTIONS_EVERY_MS = 10000;

  const state = {
    status: null,
    tip: 0, // the height the node last reported (status or stream)
    streamHeight: 0, // the last block event received
    replayEnd: 0, // blocks up to this height came from a replay, not live
    blocks: [], // {height, hash, time_ms, tx_count}, ascending
    txs: [], // receipt events (with tx_type and sender), in commit order
    txKeys: new Set(),
    currencies: new Map(), // code -> currency from /v1/currencies
    sanctions: null, // the consortium sanctions list from /v1/sanctions (null until read)
    corridors: new Map(), // code -> the currency's corridor policies from /v1/currencies/{code}/corridors
    validators: [],
    scheduled: [],
    lastSigned: new Map(), // validator public key -> highest height seen in a certificate
    certificateFetchedAt: 0,
    clockOffsetMs: null, // browser clock minus block time, from live blocks
    view: null, // what #search-result shows: {kind, key, pending?}
    bookPairAuto: true, // the book follows the market's latest offer until the user picks a pair
    marketPair: null, // [sell, buy] of the latest offer placed (in the order first seen)
    errors: new Map(),
  };
  window.corridorExplorer = { state }; // for debugging from the console

  const $ = (id) => document.getElementById(id);

  // ---- DOM helpers ------------------------------------------------------------------------------------

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") el.className = value;
      else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    append(el, children);
    return el;
  }

  function append(el, children) {
    for (const child of [children].flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : String(child));
    }
  }

  function fill(el, ...children) {
    el.replaceChildren();
    append(el, children);
    return el;
  }

  function setText(id, text) {
    const el = $(id);
    if (el && el.textContent !== text) el.textContent = text;
  }

  // ---- numbers, amounts, JSON -------------------------------------------------------------------------

  // Minor-unit integers go up to 2^63 - 1: keep the exact digits of any integer JSON.parse cannot hold.
  function parseJSON(text) {
    return JSON.parse(text, (key, value, context) => {
      if (typeof value === "number" && !Number.isSafeInteger(value) && context && /^-?\d+$/.test(context.source)) {
        return BigInt(context.source);
      }
      return value;
    });
  }

  function toBig(value) {
    if (typeof value === "bigint") return value;
    if (typeof value === "number" && Number.isInteger(value)) return BigInt(value);
    if (typeof value === "string" && /^-?\d+$/.test(value)) return BigInt(value);
    return null;
  }

  const groupDigits = (digits) => digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");

  function formatMinor(minor, decimals) {
    let value = toBig(minor);
    if (value === null || !Number.isInteger(decimals)) return String(minor);
    const negative = value < 0n;
    if (negative) value = -value;
    const unit = 10n ** BigInt(decimals);
    let text = groupDigits((value / unit).toString());
    if (decimals > 0) text += "." + (value % unit).toString().padStart(decimals, "0");
    return (negative ? "-" : "") + text;
  }

  function decimalsOf(code) {
    const currency = state.currencies.get(code);
    return currency ? currency.decimals : null;
  }

  // "12.50 USD"; a currency this page does not know yet is shown in minor units, never guessed.
  function amountText(minor, code) {
    const decimals = decimalsOf(code);
    if (decimals === null) return `${formatMinor(minor, 0)} ${code} (minor units)`;
    return `${formatMinor(minor, decimals)} ${code}`;
  }

  // num/den × 10^exp10 as a decimal with at most `digits` decimals (rounded half up).
  function ratioText(num, den, exp10, digits = 8) {
    let n = toBig(num);
    let d = toBig(den);
    if (n === null || d === null || d === 0n) return "—";
    const negative = (n < 0n) !== (d < 0n) && n !== 0n;
    n = n < 0n ? -n : n;
    d = d < 0n ? -d : d;
    if (exp10 >= 0) n *= 10n ** BigInt(exp10);
    else d *= 10n ** BigInt(-exp10);
    const scale = 10n ** BigInt(digits);
    const scaled = (n * scale * 2n + d) / (2n * d);
    const fraction = (scaled % scale).toString().padStart(digits, "0").replace(/0+$/, "");
    return (negative ? "-" : "") + groupDigits((scaled / scale).toString()) + (fraction ? "." + fraction : "");
  }

  // A price of `num/den` minor units of `buy` per minor unit of `sell`, as major units of buy per sell.
  function priceText(num, den, sell, buy) {
    const sellDecimals = decimalsOf(sell);
    const buyDecimals = decimalsOf(buy);
    if (sellDecimals === null || buyDecimals === null) return `${num}/${den} (minor units)`;
    return `${ratioText(num, den, sellDecimals - buyDecimals)} ${buy} per ${sell}`;
  }

  // JSON for people, with big integers as plain digits.
  function prettyJSON(value) {
    const text = JSON.stringify(value, (key, item) => (typeof item === "bigint" ? `@@bigint@@${item}` : item), 2);
    return text.replace(/"@@bigint@@(-?\d+)"/g, "$1");
  }

  // ---- text for people --------------------------------------------------------------------------------

  const shortHex = (hex, head = 8, tail = 6) => (hex && hex.length > head + tail + 1 ? `${hex.slice(0, head)}…${hex.slice(-tail)}` : hex || "");

  function addressLink(address, head = 10, tail = 6) {
    if (!address) return h("span", { class: "muted" }, "—");
    return h("a", { class: "mono addr", href: `#account/${address}`, title: address }, shortHex(address, head, tail));
  }

  function txLink(hash) {
    return h("a", { class: "mono", href: `#tx/${hash}`, title: hash }, shortHex(hash, 10, 6));
  }

  function heightLink(height) {
    return h("a", { class: "mono", href: `#block/${height}` }, String(height));
  }

  function hexText(hex) {
    if (!hex) return h("span", { class: "muted" }, "none");
    return h("span", { class: "mono", title: hex }, shortHex(hex));
  }

  function timeText(ms) {
    const date = new Date(Number(ms));
    return h("span", { title: date.toISOString() }, date.toLocaleTimeString([], { hour12: false }));
  }

  function dateTimeText(ms) {
    const date = new Date(Number(ms));
    return h("span", { title: date.toISOString() }, `${date.toLocaleString([], { hour12: false })}`);
  }

  function durationText(ms) {
    if (ms < 1000) return `${Math.round(ms)} ms`;
    if (ms < 60000) return `${(ms / 1000).toFixed(2)} s`;
    if (ms < 3600000) return `${(ms / 60000).toFixed(1)} min`;
    return `${(ms / 3600000).toFixed(1)} h`;
  }

  function ageText(ms) {
    if (ms < 1500) return "just now";
    if (ms < 90000) return `${Math.round(ms / 1000)} s ago`;
    if (ms < 5400000) return `${Math.round(ms / 60000)} min ago`;
    return `${(ms / 3600000).toFixed(1)} h ago`;
  }

  function validatorName(publicKey) {
    const known = state.validators.find((v) => v.public_key === publicKey)
      || (state.status ? state.status.validators.find((v) => v.public_key === publicKey) : null);
    return known ? known.name : null;
  }

  function validatorText(publicKey) {
    const name = validatorName(publicKey);
    return h("span", { title: publicKey }, name ? [name, " ", h("span", { class: "mono muted" }, shortHex(publicKey, 6, 4))] : hexText(publicKey));
  }

  // One receipt event (protocol.md 4.3) as a sentence with links.
  function describeEvent(e) {
    const amount = (minor, code) => h("strong", {}, amountText(minor, code));
    switch (e.kind) {
      case "transfer":
        return [amount(e.amount_minor, e.currency), " from ", addressLink(e.from), " to ", addressLink(e.to)];
      case "mint":
        return ["minted ", amount(e.amount_minor, e.currency), " to ", addressLink(e.to)];
      case "burn":
        return ["burned ", amount(e.amount_minor, e.currency), " from ", addressLink(e.from)];
      case "reserve_attested":
        return [`${e.currency} reserve attested: `, amount(e.reserve_minor, e.currency),
          e.reserve_as_of_ms !== undefined ? ` as of ${new Date(Number(e.reserve_as_of_ms)).toISOString()}` : "",
          e.account ? [" by the auditor ", addressLink(e.account)] : "", " (report ", hexText(e.report_hash), ")"];
      case "auditor_changed":
        return [`${e.currency} reserve auditor is now `, addressLink(e.account), "; an attestation goes stale after ",
          toBig(e.reserve_max_age_ms) > 0n ? durationText(Number(e.reserve_max_age_ms)) : "never"];
      case "authorized":
        return [addressLink(e.account), ` authorised to hold ${e.currency}`];
      case "deauthorized":
        return [addressLink(e.account), ` no longer authorised to hold ${e.currency}`];
      case "frozen":
        return [addressLink(e.account), ` frozen in ${e.currency}`];
      case "unfrozen":
        return [addressLink(e.account), ` unfrozen in ${e.currency}`];
      case "clawback":
        return [amount(e.amount_minor, e.currency), " clawed back from ", addressLink(e.from), " to ", addressLink(e.to)];
      case "forced_burn":
        return [amount(e.amount_minor, e.currency), " of ", addressLink(e.from), " destroyed by its issuer (forced burn)"];
      case "lawful_order":
        return lawfulOrder(e);
      case "compliance_keys_set":
        return [`${e.currency} compliance keys: `, toBig(e.compliance_threshold) > 0n
          ? `${e.compliance_threshold} of ${e.compliance_keys.length} approve each seizure` : `${e.compliance_keys.length} named, none required`,
          " ", h("span", { class: "mono muted", title: e.compliance_keys.join("\n") }, e.compliance_keys.map((k) => shortHex(k, 6, 4)).join(", "))];
      case "paused":
        return [`${e.currency} paused`];
      case "resumed":
        return [`${e.currency} resumed`];
      case "distributor_licensed":
        return [addressLink(e.account), ` licensed to distribute ${e.currency}`];
      case "distributor_revoked":
        return [addressLink(e.account), `'s ${e.currency} distribution licence revoked`];
      case "licence_granted":
        return [addressLink(e.account), ` licensed to ${e.scope} ${e.currency}`, e.jurisdiction ? ` under ${e.jurisdiction}` : "",
          toBig(e.expires_at_ms) > 0n ? [" until ", dateTimeText(e.expires_at_ms)] : ", no expiry"];
      case "licence_revoked":
        return [addressLink(e.account), `'s ${e.currency} ${e.scope} licence revoked (reason `, hexText(e.reason_hash), ")"];
      case "licence_required_set":
        return [`${e.currency} ${e.required ? "requires" : "no longer requires"} ${e.scope} licences`];
      case "policy_set":
        return [`${e.currency} policy: payment cap `,
          toBig(e.transfer_max_minor) === 0n ? "none" : amountText(e.transfer_max_minor, e.currency),
          ", travel rule above ",
          toBig(e.travel_rule_threshold_minor) === 0n ? "never" : amountText(e.travel_rule_threshold_minor, e.currency),
          e.distributors_only ? ", distributors only" : ""];
      case "offer_taken":
        if (toBig(e.bought_minor) === 0n) return [addressLink(e.account), " took nothing from the book"];
        return [addressLink(e.account), " paid ", amount(e.paid_minor, e.paid_currency), " and bought ", amount(e.bought_minor, e.bought_currency)];
      case "offer_filled":
        return [`offer #${e.offer_id} of `, addressLink(e.account), " sold ", amount(e.sold_minor, e.sold_currency),
          " for ", amount(e.received_minor, e.received_currency)];
      case "offer_removed":
        return [`offer #${e.offer_id} of `, addressLink(e.account), " removed, ", amount(e.refunded_minor, e.currency), " refunded"];
      case "offer_placed":
        return [`offer #${e.offer_id} of `, addressLink(e.account), " rests: sells ", amount(e.remaining_minor, e.sell_currency),
          " at ", priceText(e.price_num, e.price_den, e.sell_currency, e.buy_currency)];
      case "offer_unplaced":
        return [amount(e.refunded_minor, e.currency), " returned to ", addressLink(e.account)];
      case "payment":
        return [addressLink(e.from), " paid ", amount(e.amount_minor, e.currency), " to ", addressLink(e.to), " for ",
          amount(e.sent_minor, e.sent_currency), e.via ? ` via ${e.via}` : ""];
      case "currency_registered":
        return [`currency ${e.currency} registered (${e.decimals} decimals), issuer `, addressLink(e.account),
          e.auditor ? [", reserve auditor ", addressLink(e.auditor)] : "", e.holders_need_authorization ? ", allow-list" : ""];
      case "issuer_changed":
        return [`${e.currency} issuer is now `, addressLink(e.account)];
      case "sanctioned":
        return [addressLink(e.account), " put on the consortium sanctions list (order ", hexText(e.reason_hash), ")",
          toBig(e.offers_removed) > 0n ? `, ${e.offers_removed} resting offer(s) cancelled` : "",
          e.offers_remaining ? ", more offers left for the book to remove" : ""];
      case "unsanctioned":
        return [addressLink(e.account), " taken off the consortium sanctions list (order ", hexText(e.reason_hash), ")"];
      case "redemption_requested":
        return [addressLink(e.account), " asked to redeem ", amount(e.amount_minor, e.currency), ` (request #${e.redemption_id}, deadline `,
          dateTimeText(e.deadline_ms), ")"];
      case "redemption_fulfilled":
        return [`redemption #${e.redemption_id}: `, amount(e.amount_minor, e.currency), " paid out to ", addressLink(e.account),
          " and burned (payout ", hexText(e.payout_reference), ")", e.late ? [" ", h("span", { class: "badge bad" }, "late")] : ""];
      case "redemption_rejected":
        return [`redemption #${e.redemption_id} of `, addressLink(e.account), " rejected, ", amount(e.amount_minor, e.currency),
          " returned (reason ", hexText(e.reason_hash), ")", e.late ? [" ", h("span", { class: "badge bad" }, "late")] : ""];
      case "redemption_cancelled":
        return [`redemption #${e.redemption_id} cancelled by `, addressLink(e.account), ", ", amount(e.amount_minor, e.currency), " returned"];
      case "jurisdiction_set":
        return [addressLink(e.account), e.jurisdiction ? `'s jurisdiction for ${e.currency}: ${e.jurisdiction}`
          : `'s jurisdiction for ${e.currency} cleared`];
      case "corridor_policy_set":
        return [`${e.currency} corridor ${e.from_jurisdiction} → ${e.to_jurisdiction}: `,
          e.removed ? "policy removed" : corridorText(e, e.currency)];
      case "redemption_deadline_set":
        return [`${e.currency} redemption deadline set to `, durationText(Number(e.redemption_deadline_ms))];
      case "validator_change_scheduled":
        return [`validator ${e.validator_name} `, hexText(e.validator_key), ` gets power ${e.power} from height `,
          heightLink(e.effective_height)];
      default: {
        const { kind, ...rest } = e;
        return [h("span", { class: "badge" }, String(kind)), " ", h("span", { class: "mono" }, prettyJSON(rest))];
      }
    }
  }

  // The order behind a seizure (ledger/orders.py): who issued it, its document's hash, its expiry, who approved.
  function lawfulOrder(e) {
    const approval = e.approved_by === "governance" ? "approved by governance"
      : e.approved_by === "compliance_keys" ? `approved by ${e.approvers.length} compliance key(s) of ${e.approvals_required} required`
        : "issuer's signature (no approvals required)";
    return [h("span", { class: "badge warn lawful-order" }, "lawful order"), ` ${e.action.replace("_", " ")} of `, addressLink(e.account),
      e.currency ? ` in ${e.currency}` : "", " by order of ", h("strong", { class: "order-authority" }, e.authority),
      " (document ", hexText(e.order_hash), "; ", toBig(e.order_expiry_ms) > 0n ? ["expires ", dateTimeText(e.order_expiry_ms)] : "no expiry",
      "; ", h("span", { class: "order-approval", title: (e.approvers || []).join("\n") }, approval), ")"];
  }

  function eventList(events) {
    if (!events || events.length === 0) return h("p", { class: "note" }, "No events.");
    return h("ul", { class: "events" }, events.map((e) => h("li", { "data-kind": e.kind }, describeEvent(e))));
  }

  function receiptSummary(receipt) {
    const events = (receipt.events || []).filter((e) => !(e.kind === "offer_taken" && toBig(e.bought_minor) === 0n));
    const parts = [];
    events.slice(0, 2).forEach((e, i) => parts.push(i ? "; " : "", describeEvent(e)));
    if (events.length > 2) parts.push(h("span", { class: "muted" }, ` (+${events.length - 2} more)`));
    return parts.length ? parts : [h("span", { class: "muted" }, "no events")];
  }

  function touches(receipt, address) {
    return receipt.sender === address
      || (receipt.events || []).some((e) => e.from === address || e.to === address || e.account === address);
  }

  // ---- the API ----------------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(code, message, httpStatus, body) {
      super(message);
      this.code = code;
      this.httpStatus = httpStatus;
      this.body = body;
    }
  }

  async function api(path) {
    let response;
    try {
      response = await fetch(path, { headers: { Accept: "application/json" }, cache: "no-store" });
    } catch (exc) {
      throw new ApiError("unreachable", `The node did not answer (${exc.message}).`, 0);
    }
    const text = await response.text();
    let body;
    try {
      body = parseJSON(text);
    } catch (exc) {
      throw new ApiError(`http_${response.status}`, `The node answered HTTP ${response.status} with a body that is not JSON.`, response.status);
    }
    if (!response.ok) {
      const error = (body && body.error) || {};
      throw new ApiError(error.code || `http_${response.status}`, error.message || response.statusText, response.status, body);
    }
    return body;
  }

  function reportError(where, error) {
    state.errors.set(where, {
      code: error.code || "error",
      message: error.message || String(error),
      time: new Date(),
    });
    renderErrors();
  }

  function clearError(where) {
    if (state.errors.delete(where)) renderErrors();
  }

  function renderErrors() {
    const area = $("errors");
    area.hidden = state.errors.size === 0;
    fill(area, [...state.errors].map(([where, e]) => h("div", { class: "error", role: "alert", "data-where": where },
      h("span", { class: "error-where" }, where), h("span", { class: "error-code" }, e.code),
      h("span", { class: "error-message" }, e.message),
      h("span", { class: "error-time" }, e.time.toLocaleTimeString([], { hour12: false })))));
  }

  // One run at a time; a call while running runs it once more afterwards.
  function serialized(fn) {
    let running = false;
    let again = false;
    return async () => {
      if (running) {
        again = true;
        return;
      }
      running = true;
      try {
        do {
          again = false;
          await fn();
        } while (again);
      } finally {
        running = false;
      }
    };
  }

  const timers = new Map();
  function soon(key, fn, delayMs = 300) {
    if (timers.has(key)) return;
    timers.set(key, setTimeout(() => {
      timers.delete(key);
      fn();
    }, delayMs));
  }

  // ---- status, validators, currencies, certificates ---------------------------------------------------

  const refreshStatus = serialized(async () => {
    try {
      state.status = await api("/v1/status");
      clearError("Node status");
    } catch (exc) {
      reportError("Node status", exc);
      return;
    }
    state.tip = Math.max(state.tip, state.status.height);
    if (!stream) connectStream();
    renderHeader();
    renderStats();
    renderValidators();
  });

  const refreshValidators = serialized(async () => {
    try {
      const answer = await api("/v1/validators");
      state.validators = answer.validators;
      state.scheduled = answer.scheduled;
      clearError("Validators");
    } catch (exc) {
      reportError("Validators", exc);
      return;
    }
    renderValidators();
    renderStats();
  });

  const refreshCurrencies = serialized(async () => {
    try {
      const answer = await api("/v1/currencies");
      state.currencies = new Map(answer.currencies.map((c) => [c.code, c]));
      clearError("Currencies");
    } catch (exc) {
      reportError("Currencies", exc);
      return;
    }
    renderCurrencies();
    renderBookPairs();
    scheduleRender();
    refreshCorridors();
  });

  // Each currency's corridor policies (GET /v1/currencies/{code}/corridors), shown in the currencies card.
  const refreshCorridors = serialized(async () => {
    try {
      const codes = [...state.currencies.keys()];
      const answers = await Promise.all(codes.map((code) => api(`/v1/currencies/${encodeURIComponent(code)}/corridors`)));
      state.corridors = new Map(answers.map((answer) => [answer.currency, answer.corridors]));
      clearError("Corridors");
    } catch (exc) {
      reportError("Corridors", exc);
      return;
    }
    renderCurrencies();
  });

  // A currency's corridor policies, as a row of their own under the currency's row (none: no row).
  function corridorRow(c, corridors) {
    if (!corridors.length) return null;
    return h("tr", { class: "corridor-row", "data-corridors": c.code },
      h("td", { colspan: 7 }, h("ul", { class: "corridors", title: "corridor policies (docs/compliance.md section 3)" },
        h("li", { class: "muted" }, `${c.code} corridors (sender's jurisdiction → recipient's):`),
        corridors.map((p) => h("li", { "data-corridor": `${p.from_jurisdiction}-${p.to_jurisdiction}` },
          h("span", { class: "badge" }, `${p.from_jurisdiction} → ${p.to_jurisdiction}`), " ", corridorText(p, c.code))))));
  }

  // One corridor's controls, from a policy or a corridor_policy_set event: "travel rule > 1,000.00 USD · ...".
  function corridorText(p, code) {
    const parts = [];
    if (p.travel_rule_always) parts.push("travel rule on every payment");
    else if (toBig(p.travel_rule_threshold_minor) > 0n) parts.push(`travel rule > ${amountText(p.travel_rule_threshold_minor, code)}`);
    if (toBig(p.payment_max_minor) > 0n) parts.push(`max ${amountText(p.payment_max_minor, code)} per payment`);
    if (toBig(p.window_max_minor) > 0n) {
      parts.push(`max ${amountText(p.window_max_minor, code)} per sender per ${durationText(Number(p.window_ms))}`);
    }
    return parts.join(" · ") || "no controls";
  }

  // The consortium sanctions list (GET /v1/sanctions), in a card of its own that this script adds before the book.
  const refreshSanctions = serialized(async () => {
    try {
      state.sanctions = (await api("/v1/sanctions")).sanctions;
      clearError("Sanctions");
    } catch (exc) {
      reportError("Sanctions", exc);
      return;
    }
    renderSanctions();
  });

  function renderSanctions() {
    let card = $("sanctions");
    if (!card) {
      card = h("section", { class: "card", id: "sanctions" }, h("h2", {}, "Consortium sanctions list"), h("div", { id: "sanctions-body" }));
      $("book").before(card);
    }
    const listed = state.sanctions || [];
    fill($("sanctions-body"), listed.length
      ? h("table", { class: "table" },
        h("thead", {}, h("tr", {}, h("th", {}, "Account"), h("th", { class: "num" }, "Listed at"), h("th", {}, "Order (SHA-256)"))),
        h("tbody", {}, listed.map((s) => h("tr", { "data-account": s.account },
          h("td", {}, addressLink(s.account), " ", h("span", { class: "badge bad" }, "sanctioned")),
          h("td", { class: "num" }, heightLink(s.height)),
          h("td", {}, hexText(s.reason_hash))))))
      : h("p", { class: "note" }, "No account is listed."),
    h("p", { class: "note" }, "Listed by governance (more than 2/3 of the voting power): these accounts can neither send nor receive any currency, nor trade."));
  }

  // Open redemption requests (GET /v1/redemptions), in a card of its own that this script adds before the book:
  // overdue ones (open past their deadline) first and highlighted, with their age. Overdue is judged at the
  // node's clock as the API reports it (now_ms), advanced by the time since the answer came.
  const redemptions = { answer: null, fetchedAt: 0 };
  window.corridorExplorer.redemptions = redemptions;

  const refreshRedemptions = serialized(async () => {
    try {
      redemptions.answer = await api("/v1/redemptions?status=open&limit=50");
      redemptions.fetchedAt = Date.now();
      clearError("Redemptions");
    } catch (exc) {
      reportError("Redemptions", exc);
      return;
    }
    renderRedemptions();
  });

  function renderRedemptions() {
    let card = $("redemptions");
    if (!card) {
      card = h("section", { class: "card", id: "redemptions" }, h("h2", {}, "Open redemptions"),
        h("p", { class: "note", id: "redemptions-summary" }), h("div", { id: "redemptions-body" }));
      $("book").before(card);
    }
    const answer = redemptions.answer;
    if (!answer) return;
    const now = Number(answer.now_ms) + (Date.now() - redemptions.fetchedAt);
    const items = answer.redemptions.map((r) => ({ ...r, overdueNow: now > Number(r.deadline_ms) }));
    items.sort((a, b) => (b.overdueNow - a.overdueNow) || (Number(a.deadline_ms) - Number(b.deadline_ms)));
    const summary = Object.entries(answer.summary).map(([code, s]) => `${code}: ${s.open} open, ${s.overdue} overdue`);
    setText("redemptions-summary", summary.length
      ? `${summary.join(" · ")}${answer.total > answer.redemptions.length ? ` (the oldest ${answer.redemptions.length} shown)` : ""}`
      : "No open redemption requests.");
    fill($("redemptions-body"), items.length
      ? h("table", { class: "table" },
        h("thead", {}, h("tr", {}, h("th", {}, "Request"), h("th", {}, "Requester"), h("th", { class: "num" }, "Amount"),
          h("th", {}, "Age"), h("th", {}, "Deadline"))),
        h("tbody", {}, items.map((r) => h("tr", { class: r.overdueNow ? "overdue" : null, "data-redemption": r.id,
          "data-overdue": r.overdueNow ? "true" : "false" },
          h("td", {}, `#${r.id} `, r.overdueNow ? h("span", { class: "badge bad" }, "overdue") : h("span", { class: "badge warn" }, "open")),
          h("td", {}, addressLink(r.requester)),
          h("td", { class: "num" }, amountText(r.amount_minor, r.currency)),
          h("td", { class: "age" }, durationText(Math.max(0, now - Number(r.requested_time_ms))), " (height ", heightLink(r.requested_height), ")"),
          h("td", { class: "deadline" }, r.overdueNow ? `overdue by ${durationText(now - Number(r.deadline_ms))}`
            : `in ${durationText(Number(r.deadline_ms) - now)}`, " · ", dateTimeText(r.deadline_ms))))))
      : null,
    );
  }

  // The signers of recent commit certificates, for "last signed": the newest block's, or while the chain is
  // busy, that of the block with the fewest transactions among the newest few (to keep the page light).
  const refreshCertificate = serialized(async () => {
    const recent = state.blocks.slice(-5);
    if (recent.length === 0) return;
    const newest = recent[recent.length - 1];
    const block = newest.tx_count <= 200 ? newest
      : recent.reduce((best, b) => (b.tx_count < best.tx_count || (b.tx_count === best.tx_count && b.height > best.height) ? b : best));
    let answer;
    try {
      answer = await api(`/v1/blocks/${block.height}`);
      clearError("Certificates");
    } catch (exc) {
      reportError("Certificates", exc);
      return;
    }
    state.certificateFetchedAt = Date.now();
    for (const signature of answer.certificate.signatures) {
      const previous = state.lastSigned.get(signature.validator) || 0;
      state.lastSigned.set(signature.validator, Math.max(previous, answer.certificate.height));
    }
    renderValidators();
  });

  // ---- the event stream -------------------------------------------------------------------------------

  let stream = null;
  let retryMs = 1000;

  function setStreamState(kind, text) {
    $("stream-status").dataset.state = kind;
    setText("stream-status-text", text);
  }

  function connectStream() {
    if (stream) return;
    const from = state.streamHeight > 0 ? state.streamHeight + 1 : Math.max(1, state.tip - REPLAY_BLOCKS + 1);
    state.replayEnd = Math.max(state.replayEnd, state.tip);
    setStreamState("connecting", "connecting");
    const source = new EventSource(`/v1/events?from_height=${from}`);
    stream = source;
    source.addEventListener("open", () => {
      retryMs = 1000;
      setStreamState("live", "live");
      clearError("Event stream");
    });
    source.addEventListener("receipt", (message) => onReceipt(parseJSON(message.data)));
    source.addEventListener("block", (message) => onBlock(parseJSON(message.data)));
    source.addEventListener("overflow", () => dropStream("The page fell behind the event stream; catching up."));
    source.addEventListener("error", () => dropStream("The event stream was interrupted (node down or too many streams)."));
  }

  function dropStream(why) {
    if (stream) stream.close();
    stream = null;
    const delay = retryMs;
    retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
    setStreamState("down", `reconnecting in ${Math.round(delay / 1000)} s`);
    reportError("Event stream", { code: "stream", message: `${why} Reconnecting in ${Math.round(delay / 1000)} s.` });
    setTimeout(() => {
      if (!stream) connectStream();
    }, delay);
  }

  function onReceipt(receipt) {
    if (state.txKeys.has(receipt.tx_hash)) return;
    state.txKeys.add(receipt.tx_hash);
    state.txs.push(receipt);
    if (state.txs.length > 2 * TXS_KEPT) {
      for (const old of state.txs.splice(0, state.txs.length - TXS_KEPT)) state.txKeys.delete(old.tx_hash);
    }
    const kinds = new Set((receipt.events || []).map((e) => e.kind));
    if ([...kinds].some((k) => CURRENCY_KINDS.has(k))) soon("currencies", refreshCurrencies);
    if ([...kinds].some((k) => BOOK_KINDS.has(k))) soon("book", refreshBook);
    const placed = (receipt.events || []).find((e) => e.kind === "offer_placed");
    if (placed) {
      const pair = state.marketPair;
      const reversed = pair && pair[0] === placed.buy_currency && pair[1] === placed.sell_currency;
      if (!reversed) state.marketPair = [placed.sell_currency, placed.buy_currency];
      followPair();
    }
    if (kinds.has("validator_change_scheduled")) soon("validators", refreshValidators);
    if ([...kinds].some((k) => REDEMPTION_KINDS.has(k))) soon("redemptions", refreshRedemptions);
    if (kinds.has("redemption_fulfilled") || kinds.has("redemption_deadline_set")) soon("currencies", refreshCurrencies);
    if (kinds.has("sanctioned") || kinds.has("unsanctioned")) soon("sanctions", refreshSanctions);
    if (kinds.has("corridor_policy_set")) soon("corridors", refreshCorridors);
    const view = state.view;
    if (view && view.kind === "account" && touches(receipt, view.key)) soon("view", refreshView, 200);
    scheduleRender();
  }

  function onBlock(block) {
    if (block.height <= state.streamHeight) return;
    state.streamHeight = block.height;
    state.tip = Math.max(state.tip, block.height);
    state.blocks.push(block);
    if (state.blocks.length > BLOCKS_KEPT) state.blocks.splice(0, state.blocks.length - BLOCKS_KEPT);
    if (block.height > state.replayEnd) {
      const offset = Date.now() - Number(block.time_ms);
      state.clockOffsetMs = state.clockOffsetMs === null ? offset : Math.min(state.clockOffsetMs, offset);
    }
    const view = state.view;
    if (view && view.pending) soon("view", refreshView, 200);
    const sinceCertificate = Date.now() - state.certificateFetchedAt;
    soon("certificate", refreshCertificate, Math.max(100, CERTIFICATE_EVERY_MS - sinceCertificate));
    scheduleRender();
  }

  // ---- rendering of the live parts --------------------------------------------------------------------

  let renderPending = false;
  function scheduleRender() {
    if (renderPending) return;
    renderPending = true;
    setTimeout(() => {
      renderPending = false;
      renderHeader();
      renderStats();
      renderBlocks();
      renderTxs();
    }, 150);
  }

  function chainNow() {
    const newest = state.blocks.length ? Number(state.blocks[state.blocks.length - 1].time_ms) : 0;
    return Math.max(Date.now() - (state.clockOffsetMs === null ? 0 : state.clockOffsetMs), newest);
  }

  function renderHeader() {
    const status = state.status;
    if (status) {
      setText("chain-id", status.chain_id);
      setText("node-moniker", status.moniker);
      document.title = `Corridor explorer · ${status.chain_id}`;
    }
    if (status || state.streamHeight) {
      setText("height", String(state.tip));
      setText("stat-height", String(state.tip));
    }
  }

  function renderStats() {
    const blocks = state.blocks;
    const newest = blocks[blocks.length - 1];
    if (newest) {
      setText("last-block-age", `last block ${ageText(chainNow() - Number(newest.time_ms))}`);
    } else if (state.status && state.status.height > 0) {
      setText("last-block-age", `last block ${ageText(chainNow() - Number(state.status.latest_time_ms))}`);
    }
    // Blocks are made when transactions wait, so intervals are irregular: the median resists idle gaps.
    const recent = blocks.slice(-INTERVAL_BLOCKS);
    if (recent.length >= 2) {
      const gaps = recent.slice(1).map((b, i) => Number(b.time_ms) - Number(recent[i].time_ms)).sort((x, y) => x - y);
      const middle = gaps.length >> 1;
      const median = gaps.length % 2 ? gaps[middle] : (gaps[middle - 1] + gaps[middle]) / 2;
      setText("block-interval", durationText(median));
      setText("block-interval-note", `median of the last ${gaps.length} interval${gaps.length > 1 ? "s" : ""}`);
    } else {
      setText("block-interval", "—");
      setText("block-interval-note", "needs two blocks");
    }
    // tx/s: transactions of the blocks committed in the last 30 s (or since the oldest block this page holds,
    // when that is more recent and not the chain's first block).
    const now = chainNow();
    let windowStart = now - TPS_WINDOW_MS;
    const oldest = blocks[0];
    if (oldest && oldest.height > 1 && Number(oldest.time_ms) > windowStart) windowStart = Number(oldest.time_ms);
    let txs = 0;
    for (let i = blocks.length - 1; i >= 0 && Number(blocks[i].time_ms) > windowStart; i -= 1) txs += blocks[i].tx_count;
    const seconds = (now - windowStart) / 1000;
    if (blocks.length && seconds > 0.5) {
      const rate = txs / seconds;
      setText("tps", rate >= 100 ? rate.toFixed(0) : rate.toFixed(1));
      setText("tps-note", `${txs} txs in the last ${seconds.toFixed(0)} s`);
    } else {
      setText("tps", "—");
      setText("tps-note", "waiting for blocks");
    }
    const status = state.status;
    if (status) {
      setText("mempool", `${status.mempool_txs} pending`);
      const c = status.consensus;
      setText("consensus", `consensus h ${c.height} r ${c.round} ${c.step}${status.syncing ? " · syncing" : ""}`);
    }
    const validators = state.validators.length ? state.validators : status ? status.validators : [];
    if (validators.length) {
      const total = validators.reduce((sum, v) => sum + Number(v.power), 0);
      setText("validator-count", String(validators.length));
      setText("validator-power", `total power ${total}; a block needs more than ${Math.floor((2 * total) / 3)}`);
    }
  }

  const renderedBlocks = new Set();
  function renderBlocks() {
    const rows = state.blocks.slice(-BLOCKS_SHOWN).reverse().map((b) => {
      const fresh = renderedBlocks.size > 0 && !renderedBlocks.has(b.height);
      return h("tr", { class: `clickable${fresh ? " fresh" : ""}`, "data-height": b.height, onclick: () => go(`#block/${b.height}`) },
        h("td", {}, heightLink(b.height)), h("td", {}, timeText(b.time_ms)),
        h("td", { class: "num" }, String(b.tx_count)), h("td", {}, hexText(b.hash)));
    });
    if (rows.length === 0) return;
    renderedBlocks.clear();
    state.blocks.slice(-BLOCKS_SHOWN).forEach((b) => renderedBlocks.add(b.height));
    fill($("blocks"), rows);
  }

  const renderedTxs = new Set();
  function renderTxs() {
    const shown = state.txs.slice(-TXS_SHOWN).reverse();
    if (shown.length === 0) return;
    const rows = shown.map((r) => {
      const fresh = renderedTxs.size > 0 && !renderedTxs.has(r.tx_hash);
      return h("tr", { class: fresh ? "fresh" : null, "data-tx-hash": r.tx_hash, "data-height": r.height },
        h("td", {}, heightLink(r.height)), h("td", {}, txLink(r.tx_hash)),
        h("td", {}, h("span", { class: "badge type" }, r.tx_type)), h("td", { class: "summary" }, receiptSummary(r)));
    });
    renderedTxs.clear();
    shown.forEach((r) => renderedTxs.add(r.tx_hash));
    fill($("txs"), rows);
  }

  function renderValidators() {
    const validators = state.validators.length ? state.validators : state.status ? state.status.validators : [];
    if (!validators.length) return;
    const total = validators.reduce((sum, v) => sum + Number(v.power), 0);
    const status = state.status;
    const peers = new Map(status ? status.peers.map((p) => [p.node_id, p.height]) : []);
    fill($("validators"), validators.map((v) => {
      let link;
      if (status && v.public_key === status.node_id) link = [h("span", { class: "updot up" }), "this node"];
      else if (peers.has(v.public_key)) link = [h("span", { class: "updot up" }), `connected · h ${peers.get(v.public_key)}`];
      else if (status) link = [h("span", { class: "updot down" }), "not connected"];
      else link = h("span", { class: "muted" }, "—");
      const signed = state.lastSigned.get(v.public_key);
      return h("tr", { "data-validator": v.name },
        h("td", {}, v.name), h("td", {}, hexText(v.public_key)),
        h("td", { class: "num" }, `${v.power} `, h("span", { class: "muted" }, `(${total ? ((100 * Number(v.power)) / total).toFixed(1) : 0}%)`)),
        h("td", { class: "num" }, signed ? heightLink(signed) : h("span", { class: "muted" }, "—")),
        h("td", { class: "link" }, link));
    }));
    const scheduled = $("validators-scheduled");
    scheduled.hidden = state.scheduled.length === 0;
    fill(scheduled, "Scheduled: ", state.scheduled.map((s, i) => [i ? "; " : "", `${s.name} → power ${s.power} from height `, heightLink(s.effective_height)]));
  }

  // The latest reserve attestation: where it was recorded, how old its figure is (this page's clock), the
  // auditor who signed it, and a "stale" badge (the node's verdict) once minting is stopped until the
  // auditor attests again.
  function reserveAttestation(c) {
    const recorded = c.reserve_height ? ["height ", heightLink(c.reserve_height)] : "genesis";
    if (c.reserve_as_of_ms === undefined) return recorded;
    const maxAge = toBig(c.reserve_max_age_ms);
    const limit = maxAge > 0n ? `goes stale after ${durationText(Number(maxAge))}` : "never goes stale";
    const age = h("span", { class: "reserve-age", title: `as of ${new Date(Number(c.reserve_as_of_ms)).toISOString()}; ${limit}` },
      ageText(Math.max(0, Date.now() - Number(c.reserve_as_of_ms))));
    const stale = c.reserve_stale
      ? h("span", { class: "badge bad reserve-stale", title: "minting is refused (reserve_attestation_stale) until the auditor attests again" }, "stale")
      : h("span", { class: "badge ok reserve-stale" }, "fresh");
    return [recorded, " · ", age, " ", stale, h("div", { class: "muted reserve-auditor" }, "auditor ", addressLink(c.auditor, 8, 4))];
  }

  function renderCurrencies() {
    const rows = [...state.currencies.values()].map((c) => {
      const supply = toBig(c.supply_minor);
      const reserve = toBig(c.reserve_minor);
      let ratio = h("span", { class: "muted", title: "no supply" }, "—");
      if (supply !== null && reserve !== null && supply > 0n) {
        const text = `${ratioText(reserve * 100n, supply, 0, 2)}%`;
        ratio = h("span", { class: `badge ${reserve >= supply ? "ok" : "bad"}` }, text);
      }
      const flags = [];
      if (c.paused) flags.push(h("span", { class: "badge bad" }, "paused"));
      if (c.holders_need_authorization) flags.push(h("span", { class: "badge warn" }, "allow-list"));
      if (c.distributors_only) flags.push(h("span", { class: "badge warn" }, "distributors only"));
      if (toBig(c.transfer_max_minor) > 0n) flags.push(h("span", { class: "badge" }, `cap ${formatMinor(c.transfer_max_minor, c.decimals)}`));
      if (toBig(c.travel_rule_threshold_minor) > 0n) {
        flags.push(h("span", { class: "badge" }, `travel rule > ${formatMinor(c.travel_rule_threshold_minor, c.decimals)}`));
      }
      if (c.distributors.length) flags.push(h("span", { class: "badge", title: c.distributors.join("\n") }, `${c.distributors.length} distributor(s)`));
      if ((c.licences_required || []).includes("exchange")) {  // offers need an exchange licence (ledger/licences.py)
        flags.push(h("span", { class: "badge warn", title: "placing offers in this currency needs an exchange licence of its issuer" },
          "exchange licences"));
      }
      const corridors = state.corridors.get(c.code) || [];
      if (corridors.length) flags.push(h("span", { class: "badge" }, `${corridors.length} corridor(s)`));
      if (toBig(c.compliance_threshold) > 0n) {  // seizures need compliance approvals (ledger/orders.py)
        flags.push(h("span", { class: "badge warn compliance", title: (c.compliance_keys || []).join("\n") },
          `${c.compliance_threshold} of ${c.compliance_keys.length} compliance keys`));
      }
      return [h("tr", { "data-currency": c.code },
        h("td", { title: `${c.decimals} decimal place(s)` }, h("strong", {}, c.code)),
        h("td", { class: "num supply" }, formatMinor(c.supply_minor, c.decimals)),
        h("td", { class: "num reserve" }, formatMinor(c.reserve_minor, c.decimals)),
        h("td", { class: "num ratio" }, ratio),
        h("td", { class: "attested", title: `auditor's report SHA-256 ${c.reserve_report_hash}` }, reserveAttestation(c)),
        h("td", {}, addressLink(c.issuer, 8, 4)),
        h("td", {}, flags.length ? flags : h("span", { class: "muted" }, "none"))), corridorRow(c, corridors)];
    });
    fill($("currencies"), rows.length ? rows : h("tr", { class: "empty" }, h("td", { colspan: 7 }, "No currencies.")));
  }

  // ---- the FX book ------------------------------------------------------------------------------------

  function renderBookPairs() {
    const codes = [...state.currencies.keys()];
    const base = $("book-base");
    const quote = $("book-quote");
    const [oldBase, oldQuote] = [base.value, quote.value];
    fill(base, codes.map((code) => h("option", { value: code }, code)));
    fill(quote, codes.map((code) => h("option", { value: code }, code)));
    base.value = codes.includes(oldBase) ? oldBase : codes[0] || "";
    quote.value = codes.includes(oldQuote) ? oldQuote : codes.find((code) => code !== base.value) || "";
    if (base.value !== oldBase || quote.value !== oldQuote) refreshBook();
    followPair();
  }

  // Until the user picks a pair, show the pair of the latest offer placed (USD/JPY stays USD/JPY when a
  // JPY/USD offer follows).
  function followPair() {
    if (!state.bookPairAuto || !state.marketPair) return;
    const [sell, buy] = state.marketPair;
    const base = $("book-base");
    const quote = $("book-quote");
    if (base.value === sell && quote.value === buy) return;
    if (!state.currencies.has(sell) || !state.currencies.has(buy)) return;
    base.value = sell;
    quote.value = buy;
    soon("book", refreshBook);
  }

  const refreshBook = serialized(async () => {
    const base = $("book-base").value;
    const quote = $("book-quote").value;
    const body = $("book-body");
    if (!base || !quote) {
      fill(body, h("p", { class: "note" }, "The chain needs two currencies for a book."));
      return;
    }
    if (base === quote) {
      fill(body, h("p", { class: "note" }, "Choose two different currencies."));
      clearError("Order book");
      return;
    }
    let book;
    try {
      book = await api(`/v1/books/${encodeURIComponent(base)}/${encodeURIComponent(quote)}?depth=${$("book-depth").value}`);
      clearError("Order book");
    } catch (exc) {
      reportError("Order book", exc);
      fill(body, h("p", { class: "result-error" }, `${exc.code}: ${exc.message}`));
      return;
    }
    renderBook(book);
  });

  function renderBook(book) {
    const { base, quote } = book;
    const baseDecimals = decimalsOf(base);
    const quoteDecimals = decimalsOf(quote);
    const exp10 = (baseDecimals ?? 0) - (quoteDecimals ?? 0);
    const price = (level) => ratioText(level.price_num, level.price_den, exp10);
    const cumulative = (levels) => {
      let sum = 0n;
      return levels.map((level) => (sum += toBig(level.base_minor)));
    };
    const askCum = cumulative(book.asks);
    const bidCum = cumulative(book.bids);
    const max = [...askCum, ...bidCum].reduce((a, b) => (b > a ? b : a), 0n);
    const row = (side, level, cum) => {
      const bar = h("div", { class: "bar" });
      bar.style.width = `${max > 0n ? Number((cum * 1000n) / max) / 10 : 0}%`;
      return h("tr", { class: `level ${side}`, "data-side": side },
        h("td", { class: "num price" }, h("span", {}, price(level))),
        h("td", { class: "num" }, h("span", {}, formatMinor(level.base_minor, baseDecimals ?? 0))),
        h("td", { class: "num" }, h("span", {}, formatMinor(level.quote_minor, quoteDecimals ?? 0))),
        h("td", { class: "num" }, bar, h("span", {}, String(level.offers))));
    };
    let spread = null;
    if (book.asks.length && book.bids.length) {
      const a = book.asks[0];
      const b = book.bids[0];
      const num = toBig(a.price_num) * toBig(b.price_den) - toBig(b.price_num) * toBig(a.price_den);
      const text = `spread ${ratioText(num, toBig(a.price_den) * toBig(b.price_den), exp10)} ${quote}`;
      spread = h("tr", { class: "spread" }, h("td", { colspan: 4 }, text));
    }
    const asks = book.asks.map((level, i) => row("ask", level, askCum[i])).reverse();
    const bids = book.bids.map((level, i) => row("bid", level, bidCum[i]));
    fill($("book-body"),
      h("table", { class: "table book-table" },
        h("thead", {}, h("tr", {}, h("th", { class: "num" }, `Price (${quote} per ${base})`), h("th", { class: "num" }, base),
          h("th", { class: "num" }, quote), h("th", { class: "num" }, "Offers"))),
        h("tbody", {}, asks.length ? asks : h("tr", { class: "empty" }, h("td", { colspan: 4 }, "No asks.")),
          spread,
          bids.length ? bids : h("tr", { class: "empty" }, h("td", { colspan: 4 }, "No bids.")))),
      h("p", { class: "note" }, `Asks sell ${base}, bids buy it. Read at height ${book.height}; offers at one price are summed.`));
  }

  // ---- search and detail views ------------------------------------------------------------------------

  function go(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  }

  function onSearch(event) {
    event.preventDefault();
    const query = $("search").value.trim();
    if (/^cor1[0-9a-z]+$/i.test(query)) go(`#account/${query.toLowerCase()}`);
    else if (/^[0-9a-f]{64}$/i.test(query)) go(`#tx/${query.toLowerCase()}`);
    else if (/^\d{1,18}$/.test(query)) go(`#block/${query.replace(/^0+(?=\d)/, "")}`);
    else if (query.toLowerCase() === "latest") go(`#block/${state.tip}`);
    else {
      state.view = null;
      showResult("Search", [], h("p", { class: "result-error" },
        "Enter an account address (cor1…), a transaction hash (64 hexadecimal characters) or a block height."));
    }
  }

  function route() {
    const match = /^#(account|tx|block)\/(.+)$/.exec(location.hash);
    if (!match) {
      state.view = null;
      $("search-result").hidden = true;
      return;
    }
    const [, kind, key] = match;
    $("search").value = kind === "block" ? key : decodeURIComponent(key);
    state.view = { kind, key: decodeURIComponent(key) };
    showResult(kind === "account" ? "Account" : kind === "tx" ? "Transaction" : `Block ${key}`, [], h("p", { class: "note" }, "Loading…"));
    refreshView();
  }

  function showResult(title, badges, ...body) {
    const close = h("button", { class: "button secondary", type: "button", onclick: closeResult }, "Close");
    const panel = $("search-result");
    panel.hidden = false;
    fill(panel, h("div", { class: "result-head" }, h("h3", {}, title), badges, h("span", { class: "spacer" }), close), body);
  }

  function closeResult() {
    state.view = null;
    $("search-result").hidden = true;
    history.replaceState(null, "", location.pathname + location.search);
  }

  const refreshView = serialized(async () => {
    const view = state.view;
    if (!view) return;
    try {
      if (view.kind === "account") await showAccount(view);
      else if (view.kind === "tx") await showTx(view);
      else await showBlock(view);
    } catch (exc) {
      if (state.view !== view) return;
      const text = exc instanceof ApiError ? `${exc.code}: ${exc.message}` : `The page failed to show this: ${exc.message}`;
      showResult(view.kind === "account" ? "Account" : view.kind === "tx" ? "Transaction" : `Block ${view.key}`, [],
        h("p", { class: "result-error", "data-error-code": exc.code || "error" }, text));
    }
  });

  async function showAccount(view) {
    const address = view.key;
    const [account, offers] = await Promise.all([
      api(`/v1/accounts/${encodeURIComponent(address)}`),
      api(`/v1/accounts/${encodeURIComponent(address)}/offers`).catch((exc) => exc),
    ]);
    if (state.view !== view) return;
    const jurisdictions = account.jurisdictions || {};
    const codes = [...new Set([...Object.keys(account.balances), ...Object.keys(account.holder_status),
      ...Object.keys(jurisdictions)])].sort();
    const balanceRows = codes.map((code) => {
      const balance = account.balances[code];
      const holder = account.holder_status[code] || {};
      return h("tr", { "data-currency": code },
        h("td", {}, h("strong", {}, code)),
        h("td", { class: "num amount" }, balance ? formatMinor(balance.amount_minor, balance.decimals) : "0"),
        h("td", {}, holder.frozen ? h("span", { class: "badge bad" }, "frozen") : null,
          holder.authorized ? h("span", { class: "badge ok" }, "authorised") : null,
          jurisdictions[code] ? h("span", { class: "badge jurisdiction", title: `jurisdiction recorded by the ${code} issuer` },
            jurisdictions[code]) : null));
    });
    let offersPart;
    if (offers instanceof Error) {
      offersPart = h("p", { class: "result-error" }, `Offers: ${offers.code}: ${offers.message}`);
    } else if (offers.offers.length) {
      offersPart = h("table", { class: "table", id: "account-offers" },
        h("thead", {}, h("tr", {}, h("th", {}, "Offer"), h("th", { class: "num" }, "For sale"), h("th", {}, "Price"))),
        h("tbody", {}, offers.offers.map((o) => h("tr", { "data-offer": o.id }, h("td", {}, `#${o.id}`),
          h("td", { class: "num" }, amountText(o.remaining_minor, o.sell_currency)),
          h("td", {}, priceText(o.price_num, o.price_den, o.sell_currency, o.buy_currency))))));
    } else {
      offersPart = h("p", { class: "note" }, "No resting offers.");
    }
    // The licence registry (GET /v1/accounts/{address} lists the account's licences, judged at the node's clock).
    const licences = account.licences || [];
    const licencesPart = licences.length
      ? h("table", { class: "table", id: "account-licences" },
        h("thead", {}, h("tr", {}, h("th", {}, "Currency"), h("th", {}, "Scope"), h("th", {}, "Jurisdiction"), h("th", {}, "Expires"),
          h("th", {}, "Status"))),
        h("tbody", {}, licences.map((l) => h("tr", { "data-licence": `${l.currency}/${l.scope}`, "data-status": l.status },
          h("td", {}, h("strong", {}, l.currency)), h("td", {}, l.scope),
          h("td", {}, l.jurisdiction || h("span", { class: "muted" }, "none")),
          h("td", {}, toBig(l.expires_at_ms) > 0n ? dateTimeText(l.expires_at_ms) : h("span", { class: "muted" }, "never")),
          h("td", {}, h("span", { class: `badge ${l.status === "active" ? "ok" : "bad"}`,
            title: l.status === "revoked" ? `revoked at height ${l.revoked_height} (reason ${l.reason_hash})` : `granted at height ${l.granted_height}` },
          l.status))))))
      : h("p", { class: "note" }, "No licences.");
    const activity = state.txs.filter((r) => touches(r, address)).slice(-10).reverse();
    const sanctionBadge = account.sanctioned
      ? h("span", { class: "badge bad", id: "account-sanctioned",
        title: `On the consortium sanctions list since height ${account.sanction.height} (order ${account.sanction.reason_hash}): it can neither send nor receive, nor trade` },
      "sanctioned")
      : null;
    showResult("Account", [h("span", { class: "mono" }, account.address), " ", sanctionBadge],
      h("div", { class: "cols" },
        h("div", {},
          h("table", { class: "table", id: "account-balances" },
            h("thead", {}, h("tr", {}, h("th", {}, "Currency"), h("th", { class: "num" }, "Balance"), h("th", {}, "Status"))),
            h("tbody", {}, balanceRows.length ? balanceRows : h("tr", { class: "empty" }, h("td", { colspan: 3 }, "No balances.")))),
          h("p", { class: "note" }, `Committed balances at height ${state.tip}. Coins locked in resting offers are not included.`)),
        h("div", {},
          h("table", { class: "kv" }, h("tbody", {},
            h("tr", {}, h("th", {}, "Nonce"), h("td", {}, `${account.nonce} committed, next ${account.next_nonce}`)),
            h("tr", {}, h("th", {}, "Pending"), h("td", {}, `${account.pending_txs} transaction(s) in this node's mempool`)))),
          h("h3", {}, "Resting offers"), offersPart,
          h("h3", {}, "Licences"), licencesPart)),
      h("h3", {}, "Recent activity seen by this page"),
      activity.length
        ? h("ul", { class: "events" }, activity.map((r) => h("li", {}, heightLink(r.height), " ", txLink(r.tx_hash), " ",
          h("span", { class: "badge type" }, r.tx_type), " ", receiptSummary(r))))
        : h("p", { class: "note" }, "None since the page opened (the page keeps the last blocks only)."));
  }

  const AMOUNT_FIELDS = {
    amount_minor: "currency", reserve_minor: "currency", transfer_max_minor: "currency",
    travel_rule_threshold_minor: "currency", give_amount_minor: "give_currency", get_amount_minor: "get_currency",
    payment_max_minor: "currency", window_max_minor: "currency",
    sell_amount_minor: "sell_currency", send_max_minor: "send_currency", receive_amount_minor: "receive_currency",
  };
  const ADDRESS_FIELDS = new Set(["to", "account", "issuer"]);

  function bodyTable(body) {
    return h("table", { class: "kv" }, h("tbody", {}, Object.entries(body).map(([field, value]) => {
      let shown;
      if (field in AMOUNT_FIELDS && typeof body[AMOUNT_FIELDS[field]] === "string") {
        shown = [amountText(value, body[AMOUNT_FIELDS[field]]), h("span", { class: "muted mono" }, `  (${value} minor)`)];
      } else if (ADDRESS_FIELDS.has(field) && typeof value === "string") {
        shown = addressLink(value);
      } else if (field === "memo") {
        shown = value === "" ? h("span", { class: "muted" }, "none") : h("span", { class: "memo" }, value);
      } else if (typeof value === "string" && /^[0-9a-f]{40,}$/.test(value)) {
        shown = h("span", { class: "mono" }, value);
      } else if (value === "") {
        shown = h("span", { class: "muted" }, "none");
      } else {
        shown = typeof value === "object" ? prettyJSON(value) : String(value);
      }
      return h("tr", { "data-field": field }, h("th", {}, field), h("td", {}, shown));
    })));
  }

  async function showTx(view) {
    const answer = await api(`/v1/txs/${encodeURIComponent(view.key)}`);
    if (state.view !== view) return;
    view.pending = answer.status === "pending";
    const badgeClass = { committed: "ok", pending: "warn", rejected: "bad" }[answer.status] || "";
    const badge = h("span", { class: `badge ${badgeClass}`, id: "tx-status" }, answer.status);
    if (answer.status === "rejected") {
      showResult("Transaction", [badge], h("table", { class: "kv" }, h("tbody", {},
        h("tr", {}, h("th", {}, "Hash"), h("td", { class: "mono" }, answer.hash)),
        h("tr", {}, h("th", {}, "Refused"), h("td", {}, `${answer.error.code}: ${answer.error.message}`)))));
      return;
    }
    const tx = answer.tx;
    const receipt = answer.receipt;
    const facts = [
      h("tr", {}, h("th", {}, "Hash"), h("td", { class: "mono" }, tx.hash)),
      h("tr", {}, h("th", {}, "Type"), h("td", {}, h("span", { class: "badge type" }, tx.type))),
      h("tr", {}, h("th", {}, "Sender"), h("td", {}, addressLink(tx.sender))),
    ];
    if (receipt) {
      facts.push(h("tr", {}, h("th", {}, "Block"), h("td", {}, heightLink(receipt.height), `, transaction ${receipt.index}`)));
    } else {
      facts.push(h("tr", {}, h("th", {}, "Block"), h("td", {}, "not yet in a block: waiting in this node's mempool")));
    }
    showResult("Transaction", [badge, h("span", { class: "badge type" }, tx.type)],
      h("div", { class: "cols" },
        h("div", {}, h("table", { class: "kv" }, h("tbody", {}, facts)), h("h3", {}, "Body (as signed)"), bodyTable(tx.body)),
        h("div", {}, h("h3", {}, "Receipt events"),
          receipt ? eventList(receipt.events) : h("p", { class: "note" }, "No receipt until the transaction commits."))),
      h("details", {}, h("summary", {}, "Raw JSON"), h("pre", { class: "mono" }, prettyJSON(answer))));
  }

  async function showBlock(view) {
    const block = await api(`/v1/blocks/${encodeURIComponent(view.key)}`);
    if (state.view !== view) return;
    const header = block.header;
    const height = header.height;
    const nav = [
      height > 1 ? h("a", { class: "button secondary", href: `#block/${height - 1}` }, "← previous") : null,
      height < state.tip ? h("a", { class: "button secondary", href: `#block/${height + 1}` }, "next →") : null,
    ];
    const certificate = block.certificate;
    const row = (label, ...value) => h("tr", {}, h("th", {}, label), h("td", {}, value));
    const txs = block.txs.map((tx) => h("div", { class: "tx-block", "data-tx-hash": tx.hash },
      h("div", {}, h("span", { class: "muted" }, `#${tx.receipt.index} `), txLink(tx.hash), " ",
        h("span", { class: "badge type" }, tx.type), " from ", addressLink(tx.sender),
        tx.body.memo ? [" · memo ", h("span", { class: "memo" }, `“${tx.body.memo}”`)] : null),
      eventList(tx.receipt.events)));
    showResult(`Block ${height}`, nav,
      h("div", { class: "cols", id: "block-detail" },
        h("table", { class: "kv" }, h("tbody", {},
          row("Hash", h("span", { class: "mono" }, block.hash)),
          row("Time", dateTimeText(header.time_ms)),
          row("Parent", height > 1 ? heightLink(height - 1) : "genesis", " ", hexText(header.parent_hash)),
          row("Proposer", validatorText(header.proposer)),
          row("Transactions", String(header.tx_count)),
          row("State root", hexText(header.state_root)),
          row("Txs root", hexText(header.txs_root)),
          row("Receipts root", hexText(header.receipts_root)),
          row("Supply root", hexText(header.supply_root), " ",
            h("span", { class: "muted", title: "Every currency's supply and attested reserve after this block (GET /v1/supply/{height}; corridor verify-supply)" }, "supply and reserves")),
          row("Validators hash", hexText(header.validators_hash)))),
        h("div", {},
          h("h3", {}, `Commit certificate (round ${certificate.round})`),
          h("ul", { class: "events" }, certificate.signatures.map((s) => h("li", {}, validatorText(s.validator)))),
          h("p", { class: "note" }, "The precommits this node holds for the block: at least a quorum, not necessarily every validator."))),
      h("h3", {}, `Transactions (${block.txs.length})`),
      txs.length ? txs : h("p", { class: "note" }, "No transactions."));
  }

  // ---- start ------------------------------------------------------------------------------------------

  function start() {
    $("search-form").addEventListener("submit", onSearch);
    for (const id of ["book-base", "book-quote", "book-depth"]) {
      $(id).addEventListener("change", () => {
        state.bookPairAuto = false;
        refreshBook();
      });
    }
    window.addEventListener("hashchange", route);
    refreshStatus();
    refreshValidators();
    refreshCurrencies(); // fills the book's pair, then reads the book
    route();
    setInterval(refreshStatus, STATUS_EVERY_MS);
    setInterval(refreshValidators, VALIDATORS_EVERY_MS);
    setInterval(refreshCurrencies, CURRENCIES_EVERY_MS);
    refreshSanctions();
    setInterval(refreshSanctions, CURRENCIES_EVERY_MS);
    setInterval(refreshBook, BOOK_EVERY_MS);
    refreshRedemptions();
    setInterval(refreshRedemptions, REDEMPTIONS_EVERY_MS);
    setInterval(() => { if (redemptions.answer && redemptions.answer.redemptions.length) renderRedemptions(); }, 1000);
    setInterval(renderStats, 1000);
  }

  start();
})();
