"""What a flow document can be checked against without asking Google: GA4's standard dimension and
metric names (the Data API schema page, developers.google.com/analytics/devguides/reporting/data/v1/
api-schema), the caps AppFlow puts on one flow (9 dimensions, 10 metrics), and Universal Analytics'
`ga:` names with their GA4 equivalents where one exists (Google's "UA to GA4 dimensions and metrics"
equivalence table). Custom fields are told apart by their prefix where GA4 names allow it; the run
checks every name against the property's own metadata again."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

MAX_DIMENSIONS, MAX_METRICS = 9, 10

METRICS = frozenset("""
active1DayUsers active28DayUsers active7DayUsers activeUsers adUnitExposure addToCarts advertiserAdClicks
advertiserAdCost advertiserAdCostPerClick advertiserAdCostPerKeyEvent advertiserAdImpressions
averagePurchaseRevenue averagePurchaseRevenuePerPayingUser averagePurchaseRevenuePerUser
averageRevenuePerUser averageSessionDuration bounceRate cartToViewRate checkouts cohortActiveUsers
cohortTotalUsers conversions crashAffectedUsers crashFreeUsersRate dauPerMau dauPerWau
ecommercePurchases engagedSessions engagementRate eventCount eventCountPerUser eventValue
eventsPerSession firstTimePurchaserRate firstTimePurchasers firstTimePurchasersPerNewUser
grossItemRevenue grossPurchaseRevenue itemDiscountAmount itemListClickEvents itemListClickThroughRate
itemListViewEvents itemPromotionClickThroughRate itemRefundAmount itemRevenue itemViewEvents
itemsAddedToCart itemsCheckedOut itemsClickedInList itemsClickedInPromotion itemsPurchased itemsViewed
itemsViewedInList itemsViewedInPromotion keyEvents newUsers organicGoogleSearchAveragePosition
organicGoogleSearchClickThroughRate organicGoogleSearchClicks organicGoogleSearchImpressions
promotionClicks promotionViews publisherAdClicks publisherAdImpressions purchaseRevenue
purchaseToViewRate purchaserRate refundAmount returnOnAdSpend screenPageViews screenPageViewsPerSession
screenPageViewsPerUser scrolledUsers sessionConversionRate sessionKeyEventRate sessions sessionsPerUser
shippingAmount taxAmount totalAdRevenue totalPurchasers totalRevenue totalUsers transactions
transactionsPerPurchaser userConversionRate userEngagementDuration userKeyEventRate wauPerMau
""".split())

DIMENSIONS = frozenset("""
achievementId adFormat adSourceName adUnitName appVersion audienceId audienceName brandingInterest
browser campaignId campaignName character city cityId cohort cohortNthDay cohortNthMonth cohortNthWeek
contentGroup contentId contentType continent continentId country countryId date dateHour dateHourMinute
day dayOfWeek dayOfWeekName defaultChannelGroup deviceCategory deviceModel eventName fileExtension
fileName firstSessionDate firstUserCampaignName firstUserDefaultChannelGroup firstUserMedium
firstUserSource firstUserSourceMedium fullPageUrl groupId hostName hour isKeyEvent itemBrand
itemCategory itemId itemName landingPage landingPagePlusQueryString language languageCode level
linkClasses linkDomain linkId linkText linkUrl manualAdContent manualTerm medium method minute
mobileDeviceBranding mobileDeviceModel month newVsReturning nthDay nthHour nthMonth nthWeek nthYear
operatingSystem operatingSystemVersion operatingSystemWithVersion orderCoupon outbound pageLocation
pagePath pagePathPlusQueryString pageReferrer pageTitle percentScrolled platform platformDeviceCategory
region screenResolution searchTerm sessionCampaignName sessionDefaultChannelGroup sessionMedium
sessionSource sessionSourceMedium source sourceMedium streamId streamName transactionId
unifiedPageScreen unifiedScreenClass unifiedScreenName userAgeBracket userGender videoProvider
videoTitle videoUrl week year yearMonth yearWeek
""".split())
# customUser: and customItem: are always dimensions (GA4 custom metrics are event-scoped);
# calcMetric: is a calculated metric; customEvent: may be either, and only the property knows.
DIMENSION_PREFIXES = ("customUser:", "customItem:")
METRIC_PREFIXES = ("calcMetric:",)

# Universal Analytics -> GA4. None: no equivalent (the value says what to do instead).
UA_EQUIVALENTS: dict[str, str | None] = {
    "ga:sessions": "sessions", "ga:users": "totalUsers", "ga:newUsers": "newUsers",
    "ga:pageviews": "screenPageViews", "ga:screenviews": "screenPageViews",
    "ga:pageviewsPerSession": "screenPageViewsPerSession", "ga:bounceRate": "bounceRate",
    "ga:avgSessionDuration": "averageSessionDuration", "ga:totalEvents": "eventCount",
    "ga:eventValue": "eventValue", "ga:goalCompletionsAll": "keyEvents", "ga:transactions": "transactions",
    "ga:transactionRevenue": "purchaseRevenue", "ga:itemQuantity": "itemsPurchased",
    "ga:itemRevenue": "itemRevenue", "ga:date": "date", "ga:dateHour": "dateHour", "ga:year": "year",
    "ga:month": "month", "ga:yearMonth": "yearMonth", "ga:week": "week", "ga:day": "day",
    "ga:dayOfWeek": "dayOfWeek", "ga:hour": "hour", "ga:country": "country", "ga:city": "city",
    "ga:region": "region", "ga:continent": "continent", "ga:language": "language", "ga:browser": "browser",
    "ga:operatingSystem": "operatingSystem", "ga:deviceCategory": "deviceCategory",
    "ga:source": "sessionSource", "ga:medium": "sessionMedium", "ga:sourceMedium": "sessionSourceMedium",
    "ga:campaign": "sessionCampaignName", "ga:channelGrouping": "sessionDefaultChannelGroup",
    "ga:userType": "newVsReturning", "ga:pagePath": "pagePath", "ga:pageTitle": "pageTitle",
    "ga:landingPagePath": "landingPage", "ga:hostname": "hostName", "ga:screenName": "unifiedScreenName",
    "ga:transactionId": "transactionId", "ga:productName": "itemName", "ga:productSku": "itemId",
    "ga:productCategory": "itemCategory", "ga:productBrand": "itemBrand", "ga:eventAction": "eventName",
    "ga:eventCategory": None, "ga:eventLabel": None, "ga:avgTimeOnPage": None, "ga:exitRate": None,
}


def ua_message(name: str) -> str:
    """Why a `ga:` name is refused, and what to use instead."""
    gone = (f'"{name}" is a Universal Analytics field; Universal Analytics stopped processing data in '
            "2023 and Sluice reads Google Analytics 4 only")
    if name.startswith(("ga:dimension", "ga:metric")):
        kind = "dimension" if name.startswith("ga:dimension") else "metric"
        user = " or customUser:<property name>" if kind == "dimension" else ""
        return (f"{gone}. GA4 names custom {kind}s by their parameter, not an index: use "
                f"customEvent:<parameter name>{user} (Refresh fields lists the property's own)")
    if name in UA_EQUIVALENTS:
        equivalent = UA_EQUIVALENTS[name]
        if equivalent:
            return f"{gone}. Its GA4 equivalent is {equivalent}"
        return (f"{gone}, and GA4 has no direct equivalent (GA4 events carry parameters instead: register "
                "the parameter as a custom dimension and use customEvent:<parameter name>)")
    return f"{gone}. Choose its GA4 counterpart from the property's fields (Refresh fields)"


def kind_of(name: str) -> str | None:
    """"dimension", "metric", or None when only the property's metadata can tell (customEvent:)."""
    if name in METRICS or name.startswith(METRIC_PREFIXES):
        return "metric"
    if name in DIMENSIONS or name.startswith(DIMENSION_PREFIXES):
        return "dimension"
    return None


def cap_problems(dimensions: Iterable[str], metrics: Iterable[str]) -> list[str]:
    dimensions, metrics = list(dimensions), list(metrics)
    problems = []
    if len(dimensions) > MAX_DIMENSIONS:
        problems.append(f"Google Analytics 4 takes at most {MAX_DIMENSIONS} dimensions per flow (this flow "
                        f"reads {len(dimensions)}: {', '.join(dimensions)}); make a second flow for the rest")
    if len(metrics) > MAX_METRICS:
        problems.append(f"Google Analytics 4 takes at most {MAX_METRICS} metrics per flow (this flow reads "
                        f"{len(metrics)}: {', '.join(metrics)}); make a second flow for the rest")
    return problems


def task_problems(tasks: list[Any]) -> list[tuple[tuple, str]]:
    """(path below tasks, message) for a GA4 flow's tasks: `ga:` names, Map_all, the caps."""
    problems: list[tuple[tuple, str]] = []
    read: dict[str, None] = {}
    produced = {t.get("destinationField") for t in tasks if isinstance(t, Mapping)
                and t.get("taskType") not in ("Map", "Passthrough", "Filter")}
    for index, task in enumerate(tasks):
        if not isinstance(task, Mapping):
            continue
        if task.get("taskType") == "Map_all":
            problems.append(((index, "taskType"), "Google Analytics 4 reports need their dimensions and "
                             f"metrics chosen (at most {MAX_DIMENSIONS} and {MAX_METRICS}): use Map tasks or "
                             "a PROJECTION Filter instead of Map_all"))
        fields = task.get("sourceFields")
        for position, name in enumerate(fields if isinstance(fields, list) else []):
            if isinstance(name, str) and name.startswith("ga:"):
                problems.append(((index, "sourceFields", position), ua_message(name)))
            elif isinstance(name, str) and name and name not in produced:
                read[name] = None
    dimensions = [n for n in read if kind_of(n) == "dimension"]
    metrics = [n for n in read if kind_of(n) == "metric"]
    problems += [((), message) for message in cap_problems(dimensions, metrics)]
    return problems
