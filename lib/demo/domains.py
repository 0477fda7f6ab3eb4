"""The demo's data: the problem scenarios it injects (`SCENARIOS`) and the domain templates
its models are drawn from (`DOMAINS`: features, categories, where each scenario strikes).
Pure data, no generator: lib.demo.sample turns a domain into rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# --------------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    check: str | None  # the DESIGN.md check it is built to trip (None: none trips)
    expect: str  # the model status it is built to produce
    story: str  # told in the spec's description ({feature}, {values}, ... filled in)


# Data, not code: one scenario per row reads best, so the formatter leaves this table as written.
# fmt: off
SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("healthy", None, "green",
             "Healthy: inference data comes from the same distribution as the reference."),
    Scenario("gradual-drift", "feature_drift", "red",
             "Gradual drift: the mean of {feature} has been moving steadily for three weeks "
             "(about one standard deviation by now)."),
    Scenario("prediction-drift", "prediction_drift", "red",
             "Prediction drift: a retrained v2 model with a bug in its training data was "
             "rolled out six days ago; the inputs did not change but the predictions did."),
    Scenario("unseen-categories", "unseen_categories", "red",
             "Unseen categories: in the last 24 h upstream started sending {feature} values the "
             "model never saw ({values})."),
    Scenario("missing-spike", "missing", "red",
             "Missing values: in the last 24 h about 40% of {feature} arrive empty."),
    Scenario("out-of-range", "out_of_range", "red",
             "Out of range: in the last 24 h upstream sends {feature} {units}."),
    Scenario("schema-missing-column", "schema", "red",
             "Schema break: the newest inference file (last 24 h) lacks the feature column "
             "{feature}."),
    Scenario("schema-extra-column", "schema", "yellow",
             "Schema change: the newest inference file (last 24 h) carries an extra column "
             "{column}."),
    Scenario("performance-decay", "performance", "red",
             "Performance decay: the relation between the inputs and the outcome has been "
             "changing for three weeks (concept drift); the inputs look as before."),
    Scenario("volume-drop", "volume", "red",
             "Volume drop: in the last 24 h only about 6% of the usual traffic arrived."),
    Scenario("stale", "freshness", "red",
             "Stale: no inference has been logged for the last 3 days."),
    Scenario("too-little-data", None, "grey",
             "Too little data: a low-traffic model with about 12 predictions a day (fewer than "
             "100 in 7 days), so nothing can be judged."),
)}
# fmt: on
PROBLEM_SCENARIOS: tuple[str, ...] = tuple(n for n in SCENARIOS if n != "healthy")


# --------------------------------------------------------------------------------------------
# Domain templates
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Num:
    """A numeric feature. dist: ("normal", mu, sd) | ("gamma", k, theta) | ("lognormal", mu,
    sigma) | ("poisson", lam) | ("int", lo, hi) | ("beta", a, b). `effect` is per standard unit
    (per class for multiclass; in target units for regression); lognormal features act through
    log(x); curve "square" acts through z**2 - 1 (both tails)."""

    name: str
    dist: tuple
    effect: Any = 0.0
    curve: str = "linear"
    lo: float | None = None
    hi: float | None = None
    decimals: int | None = 2
    missing: float = 0.0


@dataclass(frozen=True)
class Cat:
    """A categorical feature: level -> weight, and level -> effect (default 0)."""

    name: str
    levels: dict
    effects: dict = field(default_factory=dict)
    missing: float = 0.0


@dataclass(frozen=True)
class Domain:
    key: str
    task: str  # binary_classification | multiclass_classification | regression
    prefix: str  # model id prefix
    title: str  # "{variant} churn ({region})"
    teams: tuple
    features: tuple
    intercept: Any  # binary: logit; multiclass: per-class logits; regression: base
    variants: tuple
    regions: tuple
    weight: float
    target: str = "label"  # what the label is (for the description)
    classes: tuple = ()  # binary: (negative, positive); multiclass: the classes
    positive_class: str | None = None
    noise: float = 0.0  # regression: noise standard deviation
    target_lo: float | None = None
    target_decimals: int = 2
    score_optional: bool = False  # binary: some models of this domain log no score
    strength: float = 1.0  # multiplies every effect: how predictable the target is
    tags: tuple = ()
    # Where each scenario strikes: feature names (and stories).
    drift: str = ""
    units: tuple = ()  # (feature, factor, offset, story)
    unseen: tuple = ()  # (feature, (new values, ...))
    missing: str = ""
    dropped: str = ""
    extra: tuple = ()  # (column, (values, ...))


# Data, not code: one block per domain and one row per feature read best, so the formatter leaves this as written.
# fmt: off
DOMAINS: dict[str, Domain] = {d.key: d for d in (
    Domain(
        key="churn", strength=1.3, task="binary_classification", prefix="churn", title="{variant} churn ({region})",
        teams=("growth",), weight=16, target="churned within 30 days", classes=(0, 1),
        intercept=-1.5, tags=("churn", "subscriptions"),
        variants=("mobile", "broadband", "tv", "streaming", "fitness-app", "energy", "insurance", "news"),
        regions=("eu", "us", "uk", "de", "fr", "nl", "nordics", "apac", "latam", "es", "it"),
        features=(
            Num("tenure_months", ("gamma", 2.0, 14.0), -0.9, lo=1, hi=180, decimals=0),
            Num("monthly_charges", ("normal", 70.0, 22.0), 0.5, lo=5, decimals=2),
            Num("support_calls_30d", ("poisson", 1.3), 0.55, decimals=0),
            Num("data_usage_gb", ("lognormal", 2.6, 0.6), -0.35, decimals=1, missing=0.02),
            Cat("contract", {"month-to-month": .52, "one-year": .27, "two-year": .21},
                {"month-to-month": 1.0, "two-year": -1.2}),
            Cat("payment_method", {"card": .42, "bank-transfer": .30, "paypal": .18, "invoice": .10},
                {"invoice": .5, "paypal": .2}),
            Cat("plan", {"basic": .35, "standard": .45, "premium": .20}, {"premium": -.3}),
        ),
        drift="monthly_charges", units=("monthly_charges", 100.0, 0.0, "in cents instead of euros"),
        unseen=("payment_method", ("apple-pay", "google-pay", "klarna")), missing="data_usage_gb",
        dropped="support_calls_30d", extra=("app_version", ("5.3.0", "5.3.1", "5.4.0-beta"))),
    Domain(
        key="fraud", strength=1.2, task="binary_classification", prefix="fraud", title="{variant} fraud ({region})",
        teams=("payments", "risk"), weight=12, target="fraud", classes=("legit", "fraud"),
        positive_class="fraud", intercept=-3.0, tags=("fraud", "transactions"),
        variants=("card", "sepa", "wallet", "p2p", "checkout", "refunds", "payouts"),
        regions=("eu", "us", "uk", "de", "fr", "nl", "es", "it", "pl", "br"),
        features=(
            Num("amount", ("lognormal", 3.7, 1.0), 0.7, decimals=2),
            Cat("merchant_category", {"grocery": .28, "restaurants": .20, "fuel": .14, "electronics": .12,
                                      "travel": .10, "online-services": .16},
                {"electronics": .9, "travel": .6, "online-services": 1.0, "grocery": -.4}),
            Num("hour_of_day", ("int", 0, 23), 0.5, curve="square", decimals=0),
            Cat("card_present", {"yes": .68, "no": .32}, {"no": 1.3}),
            Num("distance_from_home_km", ("lognormal", 1.8, 1.2), 0.8, decimals=1, missing=0.01),
            Num("txn_count_24h", ("poisson", 3.0), 0.6, decimals=0),
            Cat("country", {"DE": .30, "FR": .18, "NL": .12, "ES": .12, "IT": .12, "US": .08, "GB": .08},
                {"US": .5, "GB": .3}),
        ),
        drift="amount", units=("amount", 100.0, 0.0, "in cents instead of euros"),
        unseen=("merchant_category", ("crypto-exchange", "gift-cards", "bnpl")),
        missing="distance_from_home_km", dropped="card_present",
        extra=("device_fingerprint", ("a91f", "7c02", "e5d3", "19bb"))),
    Domain(
        key="credit", strength=1.3, task="binary_classification", prefix="credit-risk",
        title="Credit risk: {variant} ({region})",
        teams=("risk",), weight=10, target="defaulted", classes=("repaid", "default"),
        positive_class="default", intercept=-2.2, tags=("credit", "lending"),
        variants=("sme", "personal-loans", "mortgages", "cards", "auto-loans", "bnpl", "overdraft"),
        regions=("eu", "de", "fr", "nl", "es", "it", "uk", "at", "be", "pl"),
        features=(
            Num("income", ("lognormal", 10.6, 0.5), -0.7, decimals=0, missing=0.03),
            Num("loan_amount", ("lognormal", 9.4, 0.7), 0.5, decimals=0),
            Num("debt_to_income", ("normal", 0.32, 0.12), 0.9, lo=0.0, decimals=3),
            Num("credit_history_years", ("gamma", 3.0, 3.0), -0.5, decimals=1),
            Num("open_accounts", ("poisson", 4.0), 0.25, decimals=0),
            Cat("employment", {"salaried": .60, "self-employed": .18, "contract": .14, "unemployed": .08},
                {"unemployed": 1.2, "self-employed": .4, "contract": .3}),
            Cat("purpose", {"car": .25, "home-improvement": .20, "debt-consolidation": .30, "education": .10,
                            "other": .15}, {"debt-consolidation": .4, "education": -.2}),
        ),
        drift="debt_to_income", units=("loan_amount", 100.0, 0.0, "in cents instead of euros"),
        unseen=("purpose", ("crypto", "wedding", "medical")), missing="income",
        dropped="credit_history_years", extra=("bureau_score_v2", ("612", "688", "701", "745"))),
    Domain(
        key="lead", strength=1.6, task="binary_classification", prefix="lead-score",
        title="Lead scoring: {variant} ({region})",
        teams=("marketing",), weight=8, target="converted", classes=(0, 1), intercept=-0.4,
        score_optional=True, tags=("leads", "sales"),
        variants=("b2b", "smb", "enterprise", "trial", "webinar", "partners"),
        regions=("us", "eu", "uk", "dach", "nordics", "apac", "latam"),
        features=(
            Num("pages_viewed", ("poisson", 6.0), 0.6, decimals=0),
            Num("session_minutes", ("gamma", 2.0, 4.0), 0.5, decimals=1),
            Num("days_since_first_visit", ("gamma", 1.5, 10.0), -0.5, decimals=0),
            Num("email_opens", ("poisson", 2.0), 0.7, decimals=0),
            Cat("source", {"organic": .35, "paid-search": .25, "social": .20, "referral": .10, "email": .10},
                {"referral": .8, "email": .5, "social": -.4}),
            Cat("company_size", {"1-10": .30, "11-50": .30, "51-200": .20, "201-1000": .12, "1000+": .08},
                {"1000+": .6, "201-1000": .4, "1-10": -.3}),
        ),
        drift="session_minutes", units=("session_minutes", 60.0, 0.0, "in seconds instead of minutes"),
        unseen=("source", ("tiktok", "podcast", "partner-webinar")), missing="days_since_first_visit",
        dropped="email_opens", extra=("utm_campaign", ("spring", "bf-2026", "retarget"))),
    Domain(
        key="segment", strength=1.7, task="multiclass_classification", prefix="segment",
        title="Customer segments: {variant} ({region})",
        teams=("marketing", "retail"), weight=7, target="segment",
        classes=("bargain-hunter", "loyal", "premium", "occasional"), intercept=(0.2, 0.0, -0.3, 0.1),
        tags=("segmentation", "crm"),
        variants=("fashion", "grocery", "electronics", "home", "beauty", "luxury", "sports"),
        regions=("eu", "de", "fr", "nl", "uk", "us", "ch", "nordics"),
        features=(
            Num("annual_spend", ("lognormal", 6.5, 0.8), (-0.6, 0.3, 1.4, -0.8), decimals=2),
            Num("orders_per_year", ("poisson", 8.0), (0.0, 1.2, 0.3, -1.2), decimals=0),
            Num("discount_share", ("beta", 2.0, 5.0), (1.4, -0.2, -0.9, 0.0), decimals=3),
            Num("days_since_last_order", ("gamma", 2.0, 20.0), (0.0, -0.9, -0.3, 1.1), decimals=0, missing=0.01),
            Cat("channel", {"web": .45, "app": .35, "store": .20},
                {"app": (0.0, 0.5, 0.3, -0.4), "store": (-0.2, 0.3, 0.0, 0.2)}),
            Cat("age_band", {"18-24": .15, "25-34": .30, "35-49": .30, "50+": .25},
                {"18-24": (0.5, 0.0, -0.5, 0.2), "50+": (-0.2, 0.3, 0.3, 0.0)}),
        ),
        drift="annual_spend", units=("annual_spend", 100.0, 0.0, "in cents instead of euros"),
        unseen=("channel", ("marketplace", "social-shop")), missing="days_since_last_order",
        dropped="age_band", extra=("loyalty_tier", ("silver", "gold"))),
    Domain(
        key="delivery", strength=1.7, task="multiclass_classification", prefix="delivery-delay",
        title="Delivery delay: {variant} ({region})",
        teams=("supply-chain",), weight=7, target="delivery delay class",
        classes=("on-time", "late-1d", "late-3d+"), intercept=(1.0, 0.0, -0.7), tags=("logistics",),
        variants=("parcels", "freight", "groceries", "furniture", "returns", "express"),
        regions=("uk", "de", "fr", "nl", "be", "es", "it", "pl", "nordics"),
        features=(
            Num("distance_km", ("lognormal", 5.5, 0.8), (-0.8, 0.3, 0.9), decimals=1),
            Num("weight_kg", ("gamma", 2.0, 3.0), (-0.2, 0.1, 0.3), decimals=2, missing=0.01),
            Num("warehouse_load", ("normal", 0.65, 0.15), (-0.9, 0.4, 0.9), lo=0.0, decimals=3),
            Num("order_hour", ("int", 0, 23), (-0.2, 0.1, 0.2), decimals=0),
            Cat("carrier", {"dhl": .30, "ups": .20, "dpd": .20, "gls": .15, "postnl": .15},
                {"dpd": (-0.3, 0.2, 0.3), "gls": (-0.2, 0.1, 0.3)}),
            Cat("weather", {"clear": .55, "rain": .30, "snow": .10, "storm": .05},
                {"snow": (-0.8, 0.3, 1.2), "storm": (-1.2, 0.3, 1.6), "rain": (-0.3, 0.2, 0.2)}),
        ),
        drift="warehouse_load", units=("distance_km", 1000.0, 0.0, "in metres instead of kilometres"),
        unseen=("carrier", ("fedex", "hermes", "bpost")), missing="weight_kg",
        dropped="weather", extra=("route_id", ("r-17", "r-22", "r-40"))),
    Domain(
        key="tickets", strength=1.8, task="multiclass_classification", prefix="ticket-router",
        title="Ticket routing: {variant} ({region})",
        teams=("growth",), weight=6, target="ticket queue",
        classes=("billing", "technical", "account", "shipping"), intercept=(0.2, 0.3, 0.0, -0.2),
        tags=("support", "nlp-features"),
        variants=("support", "helpdesk", "merchants", "drivers", "sellers"),
        regions=("en", "de", "fr", "es", "nl", "it"),
        features=(
            Num("message_length", ("lognormal", 5.0, 0.7), (-0.2, 0.8, 0.0, -0.3), decimals=0),
            Num("attachments", ("poisson", 0.6), (0.0, 0.8, -0.2, 0.1), decimals=0),
            Num("customer_tenure_days", ("gamma", 2.0, 200.0), (0.3, -0.2, 0.2, -0.1), decimals=0, missing=0.02),
            Cat("product", {"app": .35, "web": .30, "hardware": .20, "subscription": .15},
                {"hardware": (-0.5, 0.8, -0.3, 1.4), "subscription": (1.3, -0.3, 0.5, -0.6),
                 "app": (0.0, 0.3, 0.4, -0.4)}),
            Cat("channel", {"email": .45, "chat": .35, "phone": .20}, {"phone": (0.5, 0.0, 0.4, 0.0)}),
            Cat("language", {"en": .40, "de": .20, "fr": .15, "es": .15, "nl": .10}),
        ),
        drift="message_length", units=("customer_tenure_days", 24.0, 0.0, "in hours instead of days"),
        unseen=("product", ("smart-watch", "gift-card")), missing="customer_tenure_days",
        dropped="channel", extra=("agent_group", ("tier-1", "tier-2"))),
    Domain(
        key="demand", task="regression", prefix="demand", title="Demand forecast: {variant} ({region})",
        teams=("supply-chain", "retail"), weight=14, target="units sold", intercept=110.0, noise=12.0,
        target_lo=0.0, target_decimals=1, tags=("forecasting", "stores"),
        variants=("grocery", "bakery", "beverages", "dairy", "frozen", "household", "pharmacy", "pet"),
        regions=("berlin", "hamburg", "munich", "paris", "lyon", "amsterdam", "madrid", "milan", "vienna"),
        features=(
            Num("price", ("normal", 12.0, 3.0), -18.0, lo=0.5, decimals=2),
            Cat("promo", {"none": .80, "discount": .14, "bundle": .06}, {"discount": 30.0, "bundle": 18.0}),
            Cat("weekday", {"mon": .14, "tue": .14, "wed": .14, "thu": .14, "fri": .15, "sat": .15, "sun": .14},
                {"sat": 22.0, "sun": 12.0, "fri": 8.0}),
            Num("temperature", ("normal", 14.0, 8.0), 7.0, decimals=1),
            Cat("store_size", {"small": .40, "medium": .40, "large": .20}, {"small": -18.0, "large": 28.0}),
            Num("stock_level", ("gamma", 4.0, 50.0), 5.0, decimals=0, missing=0.02),
        ),
        drift="temperature", units=("price", 100.0, 0.0, "in cents instead of euros"),
        unseen=("promo", ("flash-sale", "clearance")), missing="stock_level",
        dropped="temperature", extra=("pos_terminal", ("t1", "t2", "t3"))),
    Domain(
        key="pricing", task="regression", prefix="pricing", title="Dynamic pricing: {variant} ({region})",
        teams=("pricing",), weight=10, target="price", intercept=140.0, noise=10.0, target_lo=20.0,
        tags=("pricing", "revenue"),
        variants=("hotel-rooms", "car-rental", "airline-seats", "event-tickets", "parking", "holiday-homes"),
        regions=("eu", "de", "fr", "it", "es", "pt", "at", "uk"),
        features=(
            Num("days_ahead", ("gamma", 1.5, 20.0), -12.0, decimals=0, missing=0.01),
            Num("occupancy", ("beta", 5.0, 2.0), 25.0, decimals=3),
            Cat("room_type", {"single": .30, "double": .55, "suite": .15}, {"single": -30.0, "suite": 90.0}),
            Cat("city", {"berlin": .20, "paris": .20, "rome": .15, "madrid": .15, "vienna": .15, "lisbon": .15},
                {"paris": 35.0, "rome": 15.0, "lisbon": -15.0}),
            Cat("weekend", {"no": .70, "yes": .30}, {"yes": 15.0}),
            Num("competitor_price", ("lognormal", 4.8, 0.25), 20.0, decimals=2),
        ),
        drift="competitor_price", units=("competitor_price", 100.0, 0.0, "in cents instead of euros"),
        unseen=("city", ("prague", "budapest", "krakow")), missing="days_ahead",
        dropped="weekend", extra=("rate_plan", ("flex", "saver"))),
    Domain(
        key="icecream", task="regression", prefix="icecream", title="Ice cream price forecast ({region})",
        teams=("retail", "pricing"), weight=3, target="price per scoop (EUR)", intercept=3.4, noise=0.15,
        target_lo=0.5, tags=("pricing", "eu"),
        variants=("kiosks", "parlours", "gelato", "beach"), regions=("it", "es", "fr", "de", "nl", "gr", "pt"),
        features=(
            Cat("flavor", {"vanilla": .20, "chocolate": .20, "pistachio": .12, "stracciatella": .10,
                           "lemon": .10, "hazelnut": .10, "mint": .09, "mango": .09},
                {"pistachio": .6, "hazelnut": .4, "mango": .3, "vanilla": -.1}),
            Num("temperature", ("normal", 22.0, 6.0), 0.25, decimals=1),
            Cat("cone_size", {"small": .35, "medium": .40, "large": .25}, {"small": -.8, "large": 1.0}),
            Cat("store_type", {"kiosk": .40, "parlour": .35, "supermarket": .25}, {"parlour": .6, "supermarket": -.9}),
            Cat("tourist_area", {"no": .60, "yes": .40}, {"yes": .5}),
            Num("hour", ("int", 10, 22), 0.1, decimals=0),
        ),
        drift="temperature", units=("temperature", 1.8, 32.0, "in degrees Fahrenheit instead of Celsius"),
        unseen=("flavor", ("strawberry", "cookie dough", "rum raisin", "rocky road")), missing="temperature",
        dropped="tourist_area", extra=("pos_terminal", ("t1", "t2"))),
    Domain(
        key="eta", task="regression", prefix="eta", title="Delivery ETA: {variant} ({region})",
        teams=("supply-chain",), weight=6, target="delivery minutes", intercept=32.0, noise=4.0,
        target_lo=5.0, target_decimals=1, tags=("logistics", "eta"),
        variants=("food", "groceries", "pharmacy", "flowers", "parcels"),
        regions=("nl", "de", "fr", "be", "es", "it", "uk", "pl"),
        features=(
            Num("distance_km", ("gamma", 2.0, 2.5), 9.0, decimals=2),
            Num("items", ("poisson", 4.0), 2.0, decimals=0),
            Cat("courier", {"bike": .40, "scooter": .35, "car": .25}, {"bike": 4.0, "car": -3.0}),
            Cat("zone", {"center": .30, "inner": .30, "outer": .25, "suburbs": .15}, {"center": 3.0, "suburbs": 6.0}),
            Num("traffic_index", ("beta", 2.0, 3.0), 6.0, decimals=3, missing=0.01),
            Num("hour", ("int", 8, 23), 3.0, curve="square", decimals=0),
        ),
        drift="distance_km", units=("distance_km", 1000.0, 0.0, "in metres instead of kilometres"),
        unseen=("courier", ("drone", "robot")), missing="traffic_index",
        dropped="zone", extra=("app_build", ("812", "813"))),
    Domain(
        key="ltv", task="regression", prefix="ltv", title="Customer lifetime value: {variant} ({region})",
        teams=("growth", "marketing"), weight=5, target="12-month revenue (EUR)", intercept=180.0, noise=30.0,
        target_lo=0.0, tags=("ltv", "crm"),
        variants=("app", "web", "marketplace", "subscriptions", "b2b"),
        regions=("de", "fr", "nl", "es", "it", "uk", "us"),
        features=(
            Num("first_order_value", ("lognormal", 3.8, 0.6), 40.0, decimals=2),
            Num("orders_first_30d", ("poisson", 1.5), 35.0, decimals=0, missing=0.01),
            Cat("signup_channel", {"organic": .40, "paid-social": .25, "referral": .15, "search": .20},
                {"referral": 40.0, "paid-social": -25.0}),
            Cat("country", {"de": .30, "fr": .20, "nl": .15, "es": .15, "it": .20}, {"nl": 20.0}),
            Cat("app_user", {"yes": .50, "no": .50}, {"yes": 30.0}),
            Cat("newsletter", {"yes": .35, "no": .65}, {"yes": 15.0}),
        ),
        drift="first_order_value", units=("first_order_value", 100.0, 0.0, "in cents instead of euros"),
        unseen=("signup_channel", ("tiktok", "influencer")), missing="orders_first_30d",
        dropped="newsletter", extra=("experiment_arm", ("a", "b"))),
)}
# fmt: on
