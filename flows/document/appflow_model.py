"""Constants from AppFlow's service model (botocore `appflow/2020-08-23/service-2.json`, shapes
CreateFlowRequest, TriggerConfig, ScheduledTriggerProperties, SourceFlowConfig, DestinationFlowConfig,
Task, ConnectorOperator, OperatorPropertiesKeys, TagMap). Copied here so that Sluice does not need
botocore at run time; the patterns are AppFlow's, matched in full as the service does."""

from __future__ import annotations

import re

FLOW_NAME_MAX = 256
FLOW_NAME_PATTERN = re.compile(r"[a-zA-Z0-9][\w!@#.-]+", re.ASCII)
DESCRIPTION_MAX = 2048
KMS_ARN_MAX = 2048
CLIENT_TOKEN_MAX = 256
CONNECTOR_LABEL_MAX = 256
CONNECTOR_LABEL_PATTERN = re.compile(r"[a-zA-Z0-9][\w!@#.-]+", re.ASCII)
CONNECTOR_PROFILE_NAME_MAX = 256
API_VERSION_MAX = 256
DESTINATION_FIELD_MAX = 256
SOURCE_FIELD_MAX = 2048
TASK_PROPERTY_VALUE_MAX = 2048
DATETIME_FIELD_NAME_MAX = 256

TAGS_MAX = 50
TAG_KEY_MAX = 128
TAG_VALUE_MAX = 256
# "+-=" inside these classes is a range (+ through =: + , - . / digits : ; < =), as in the model.
TAG_KEY_PATTERN = re.compile(r"(?!aws:)[a-zA-Z+-=._:/]+", re.ASCII)
TAG_VALUE_PATTERN = re.compile(r"[\s\w+-=\.:/@]*", re.ASCII)

TRIGGER_TYPES = ("Scheduled", "Event", "OnDemand")
DATA_PULL_MODES = ("Incremental", "Complete")
SCHEDULE_EXPRESSION_MAX = 256
TIMEZONE_MAX = 256
SCHEDULE_OFFSET_RANGE = (0, 36000)
FLOW_ERROR_DEACTIVATION_THRESHOLD_RANGE = (1, 100)

CONNECTOR_TYPES = (
    "Salesforce", "Singular", "Slack", "Redshift", "S3", "Marketo", "Googleanalytics", "Zendesk",
    "Servicenow", "Datadog", "Trendmicro", "Snowflake", "Dynatrace", "Infornexus", "Amplitude",
    "Veeva", "EventBridge", "LookoutMetrics", "Upsolver", "Honeycode", "CustomerProfiles",
    "SAPOData", "CustomConnector", "Pardot",
)
# AppFlow spells three connector types one way in connectorType and another as the key of
# sourceConnectorProperties / destinationConnectorProperties / connectorOperator; both are accepted.
PROPERTIES_KEY_SPELLINGS = {
    "Googleanalytics": "GoogleAnalytics",
    "Servicenow": "ServiceNow",
    "Infornexus": "InforNexus",
}
# Members of SourceConnectorProperties / DestinationConnectorProperties: what can be a source and
# what a destination in AppFlow.
SOURCE_PROPERTIES_KEYS = (
    "Amplitude", "Datadog", "Dynatrace", "GoogleAnalytics", "InforNexus", "Marketo", "S3", "Salesforce",
    "ServiceNow", "Singular", "Slack", "Trendmicro", "Veeva", "Zendesk", "SAPOData", "CustomConnector",
    "Pardot",
)
DESTINATION_PROPERTIES_KEYS = (
    "Redshift", "S3", "Salesforce", "Snowflake", "EventBridge", "LookoutMetrics", "Upsolver",
    "Honeycode", "CustomerProfiles", "Zendesk", "Marketo", "CustomConnector", "SAPOData",
)

TASK_TYPES = (
    "Arithmetic", "Filter", "Map", "Map_all", "Mask", "Merge", "Passthrough", "Truncate", "Validate",
    "Partition",
)

# Operators: the union (shape Operator), then one enum per connectorOperator key.
OPERATORS: tuple[str, ...] = (
    "PROJECTION", "LESS_THAN", "GREATER_THAN", "CONTAINS", "BETWEEN", "LESS_THAN_OR_EQUAL_TO",
    "GREATER_THAN_OR_EQUAL_TO", "EQUAL_TO", "NOT_EQUAL_TO", "ADDITION", "MULTIPLICATION", "DIVISION",
    "SUBTRACTION", "MASK_ALL", "MASK_FIRST_N", "MASK_LAST_N", "VALIDATE_NON_NULL", "VALIDATE_NON_ZERO",
    "VALIDATE_NON_NEGATIVE", "VALIDATE_NUMERIC", "NO_OP",
)
CONNECTOR_OPERATORS: dict[str, tuple[str, ...]] = {
    "Amplitude": ("BETWEEN",),
    "Datadog": (
        "PROJECTION", "BETWEEN", "EQUAL_TO", "ADDITION", "MULTIPLICATION", "DIVISION", "SUBTRACTION",
        "MASK_ALL", "MASK_FIRST_N", "MASK_LAST_N", "VALIDATE_NON_NULL", "VALIDATE_NON_ZERO",
        "VALIDATE_NON_NEGATIVE", "VALIDATE_NUMERIC", "NO_OP",
    ),
    "Dynatrace": (
        "PROJECTION", "BETWEEN", "EQUAL_TO", "ADDITION", "MULTIPLICATION", "DIVISION", "SUBTRACTION",
        "MASK_ALL", "MASK_FIRST_N", "MASK_LAST_N", "VALIDATE_NON_NULL", "VALIDATE_NON_ZERO",
        "VALIDATE_NON_NEGATIVE", "VALIDATE_NUMERIC", "NO_OP",
    ),
    "GoogleAnalytics": ("PROJECTION", "BETWEEN"),
    "InforNexus": (
        "PROJECTION", "BETWEEN", "EQUAL_TO", "ADDITION", "MULTIPLICATION", "DIVISION", "SUBTRACTION",
        "MASK_ALL", "MASK_FIRST_N", "MASK_LAST_N", "VALIDATE_NON_NULL", "VALIDATE_NON_ZERO",
        "VALIDATE_NON_NEGATIVE", "VALIDATE_NUMERIC", "NO_OP",
    ),
    "Marketo": (  # + EQUAL_TO (Sluice's): the values that look up Marketo companies / opportunities
        "PROJECTION", "LESS_THAN", "GREATER_THAN", "BETWEEN", "EQUAL_TO", "ADDITION", "MULTIPLICATION",
        "DIVISION", "SUBTRACTION", "MASK_ALL", "MASK_FIRST_N", "MASK_LAST_N", "VALIDATE_NON_NULL",
        "VALIDATE_NON_ZERO", "VALIDATE_NON_NEGATIVE", "VALIDATE_NUMERIC", "NO_OP",
    ),
    "S3": (
        "PROJECTION", "LESS_THAN", "GREATER_THAN", "BETWEEN", "LESS_THAN_OR_EQUAL_TO",
        "GREATER_THAN_OR_EQUAL_TO", "EQUAL_TO", "NOT_EQUAL_TO", "ADDITION", "MULTIPLICATION",
        "DIVISION", "SUBTRACTION", "MASK_ALL", "MASK_FIRST_N", "MASK_LAST_N", "VALIDATE_NON_NULL",
        "VALIDATE_NON_ZERO", "VALIDATE_NON_NEGATIVE", "VALIDATE_NUMERIC", "NO_OP",
    ),
    "Salesforce": (
        "PROJECTION", "LESS_THAN", "CONTAINS", "GREATER_THAN", "BETWEEN", "LESS_THAN_OR_EQUAL_TO",
        "GREATER_THAN_OR_EQUAL_TO", "EQUAL_TO", "NOT_EQUAL_TO", "ADDITION", "MULTIPLICATION",
        "DIVISION", "SUBTRACTION", "MASK_ALL", "MASK_FIRST_N", "MASK_LAST_N", "VALIDATE_NON_NULL",
        "VALIDATE_NON_ZERO", "VALIDATE_NON_NEGATIVE", "VALIDATE_NUMERIC", "NO_OP",
    ),
    "ServiceNow": (
        "PROJECTION", "CONTAINS", "LESS_THAN", "GREATER_THAN", "BETWEEN", "LESS_THAN_OR_EQUAL_TO",
        "GREATER_THAN_OR_EQUAL_TO", "EQUAL_TO", "NOT_EQUAL_TO", "ADDITION", "MULTIPLICATION",
        "DIVISION", "SUBTRACTION", "MASK_ALL", "MASK_FIRST_N", "MASK_LAST_N", "VALIDATE_NON_NULL",
        "VALIDATE_NON_ZERO", "VALIDATE_NON_NEGATIVE", "VALIDATE_NUMERIC", "NO_OP",
    ),
    "Singular": (
        "PROJECTION", "EQUAL_TO", "ADDITION", "MULTIPLICATION", "DIVISION", "SUBTRACTION", "MASK_ALL",
        "MASK_FIRST_N", "MASK_LAST_N", "VALIDATE_NON_NULL", "VALIDATE_NON_ZERO",
        "VALIDATE_NON_NEGATIVE", "VALIDATE_NUMERIC", "NO_OP",
    ),
    "Slack": (
        "PROJECTION", "LESS_THAN", "GREATER_THAN", "BETWEEN", "LESS_THAN_OR_EQUAL_TO",
        "GREATER_THAN_OR_EQUAL_TO", "EQUAL_TO", "ADDITION", "MULTIPLICATION", "DIVISION",
        "SUBTRACTION", "MASK_ALL", "MASK_FIRST_N", "MASK_LAST_N", "VALIDATE_NON_NULL",
        "VALIDATE_NON_ZERO", "VALIDATE_NON_NEGATIVE", "VALIDATE_NUMERIC", "NO_OP",
    ),
    "Trendmicro": (
        "PROJECTION", "EQUAL_TO", "ADDITION", "MULTIPLICATION", "DIVISION", "SUBTRACTION", "MASK_ALL",
        "MASK_FIRST_N", "MASK_LAST_N", "VALIDATE_NON_NULL", "VALIDATE_NON_ZERO",
        "VALIDATE_NON_NEGATIVE", "VALIDATE_NUMERIC", "NO_OP",
    ),
    "Veeva": OPERATORS,
    "Zendesk": (
        "PROJECTION", "GREATER_THAN", "ADDITION", "MULTIPLICATION", "DIVISION", "SUBTRACTION",
        "MASK_ALL", "MASK_FIRST_N", "MASK_LAST_N", "VALIDATE_NON_NULL", "VALIDATE_NON_ZERO",
        "VALIDATE_NON_NEGATIVE", "VALIDATE_NUMERIC", "NO_OP",
    ),
    "SAPOData": (
        "PROJECTION", "LESS_THAN", "CONTAINS", "GREATER_THAN", "BETWEEN", "LESS_THAN_OR_EQUAL_TO",
        "GREATER_THAN_OR_EQUAL_TO", "EQUAL_TO", "NOT_EQUAL_TO", "ADDITION", "MULTIPLICATION",
        "DIVISION", "SUBTRACTION", "MASK_ALL", "MASK_FIRST_N", "MASK_LAST_N", "VALIDATE_NON_NULL",
        "VALIDATE_NON_ZERO", "VALIDATE_NON_NEGATIVE", "VALIDATE_NUMERIC", "NO_OP",
    ),
    "CustomConnector": OPERATORS,
    "Pardot": (
        "PROJECTION", "EQUAL_TO", "NO_OP", "ADDITION", "MULTIPLICATION", "DIVISION", "SUBTRACTION",
        "MASK_ALL", "MASK_FIRST_N", "MASK_LAST_N", "VALIDATE_NON_NULL", "VALIDATE_NON_ZERO",
        "VALIDATE_NON_NEGATIVE", "VALIDATE_NUMERIC",
    ),
}

TASK_PROPERTY_KEYS = (
    "VALUE", "VALUES", "DATA_TYPE", "UPPER_BOUND", "LOWER_BOUND", "SOURCE_DATA_TYPE",
    "DESTINATION_DATA_TYPE", "VALIDATION_ACTION", "MASK_VALUE", "MASK_LENGTH", "TRUNCATE_LENGTH",
    "MATH_OPERATION_FIELDS_ORDER", "CONCAT_FORMAT", "SUBFIELD_CATEGORY_MAP",
    "EXCLUDE_SOURCE_FIELDS_LIST", "INCLUDE_NEW_FIELDS", "ORDERED_PARTITION_KEYS_LIST",
)
