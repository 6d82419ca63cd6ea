//! The two wire protocols of SQS, as far as the supervisor answers calls itself.
//!
//! Current SDKs send AWS JSON 1.0 (`X-Amz-Target: AmazonSQS.<Operation>`, a body of type
//! `application/x-amz-json-1.0`); older ones send the Query protocol (a form-encoded
//! `Action=<Operation>` answered in XML). Shapes follow the Amazon SQS API reference
//! (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/>): `ReceiveMessage`,
//! `DeleteMessage`, `DeleteMessageBatch`, and "Common Errors"; see also docs/pitfalls.md#p48.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Map, Value};

/// The XML namespace of every Query answer (API version 2012-11-05).
pub const XMLNS: &str = "http://queue.amazonaws.com/doc/2012-11-05/";
pub const JSON_CONTENT_TYPE: &str = "application/x-amz-json-1.0";
pub const XML_CONTENT_TYPE: &str = "text/xml";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Json,
    Query,
}

/// One SQS call as the worker sent it, its parameters kept in the protocol's own form so that a
/// call forwarded to SQS keeps every parameter the supervisor does not know.
#[derive(Debug, Clone)]
pub struct Call {
    pub protocol: Protocol,
    pub action: String,
    params: Params,
}

#[derive(Debug, Clone)]
enum Params {
    Json(Map<String, Value>),
    Query(Vec<(String, String)>),
}

/// What `ReceiveMessage` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiveRequest {
    pub max: usize,
    /// `None`: not given (SQS would use the queue's `ReceiveMessageWaitTimeSeconds`).
    pub wait: Option<Duration>,
    /// `AttributeNames` and `MessageSystemAttributeNames` together.
    pub attribute_names: Vec<String>,
    pub message_attribute_names: Vec<String>,
}

/// A message as `ReceiveMessage` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    pub message_id: String,
    pub receipt_handle: String,
    pub md5_of_body: String,
    pub body: String,
    pub attributes: BTreeMap<String, String>,
    pub md5_of_message_attributes: Option<String>,
    pub message_attributes: BTreeMap<String, MessageAttribute>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageAttribute {
    pub data_type: String,
    pub string_value: Option<String>,
    /// Base64, as both protocols carry it.
    pub binary_value: Option<String>,
}

/// A `DeleteMessageBatch` entry that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchError {
    pub id: String,
    pub code: String,
    pub message: String,
    pub sender_fault: bool,
}

/// An answer the supervisor gives itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Receive(Vec<Message>),
    Delete,
    DeleteBatch {
        successful: Vec<String>,
        failed: Vec<BatchError>,
    },
}

/// An error answer: the JSON protocol's `__type` names `code`, the Query protocol's `<Code>` (and
/// the JSON protocol's `x-amzn-query-error` header) names `query_code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsError {
    pub status: u16,
    pub code: &'static str,
    pub query_code: &'static str,
    pub message: String,
    pub sender_fault: bool,
}

impl SqsError {
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        SqsError {
            status: 400,
            code: "InvalidParameterValue",
            query_code: "InvalidParameterValue",
            message: message.into(),
            sender_fault: true,
        }
    }

    pub fn missing_parameter(name: &str) -> Self {
        SqsError {
            status: 400,
            code: "MissingParameter",
            query_code: "MissingParameter",
            message: format!("The request must contain the parameter {name}."),
            sender_fault: true,
        }
    }

    pub fn invalid_action(action: &str) -> Self {
        SqsError {
            status: 400,
            code: "InvalidAction",
            query_code: "InvalidAction",
            message: format!("The action {action} is not valid for this endpoint."),
            sender_fault: true,
        }
    }

    pub fn empty_batch() -> Self {
        SqsError {
            status: 400,
            code: "EmptyBatchRequest",
            query_code: "AWS.SimpleQueueService.EmptyBatchRequest",
            message: "There should be at least one DeleteMessageBatchRequestEntry in the request."
                .into(),
            sender_fault: true,
        }
    }

    pub fn too_many_entries(n: usize) -> Self {
        SqsError {
            status: 400,
            code: "TooManyEntriesInBatchRequest",
            query_code: "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
            message: format!("Maximum number of entries per request are 10. You have sent {n}."),
            sender_fault: true,
        }
    }

    pub fn ids_not_distinct() -> Self {
        SqsError {
            status: 400,
            code: "BatchEntryIdsNotDistinct",
            query_code: "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
            message: "Two or more batch entries in the request have the same Id.".into(),
            sender_fault: true,
        }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        SqsError {
            status: 500,
            code: "InternalFailure",
            query_code: "InternalFailure",
            message: message.into(),
            sender_fault: false,
        }
    }
}

impl Call {
    /// Reads a call: JSON when `X-Amz-Target` names `AmazonSQS.<Operation>`, else Query with its
    /// parameters from the URL's query string and the form body.
    pub fn parse(
        target: Option<&str>,
        uri_query: Option<&str>,
        body: &[u8],
    ) -> Result<Call, SqsError> {
        if let Some(target) = target {
            let action = target
                .strip_prefix("AmazonSQS.")
                .ok_or_else(|| SqsError::invalid_action(target))?;
            let params = if body.iter().all(u8::is_ascii_whitespace) {
                Map::new()
            } else {
                match serde_json::from_slice::<Value>(body) {
                    Ok(Value::Object(map)) => map,
                    _ => {
                        return Err(SqsError {
                            status: 400,
                            code: "SerializationException",
                            query_code: "SerializationException",
                            message: "The request body is not a JSON object.".into(),
                            sender_fault: true,
                        })
                    }
                }
            };
            return Ok(Call {
                protocol: Protocol::Json,
                action: action.to_string(),
                params: Params::Json(params),
            });
        }
        let mut params: Vec<(String, String)> = Vec::new();
        if let Some(q) = uri_query {
            params.extend(form_urlencoded::parse(q.as_bytes()).into_owned());
        }
        params.extend(form_urlencoded::parse(body).into_owned());
        let action = params
            .iter()
            .find(|(k, _)| k == "Action")
            .map(|(_, v)| v.clone())
            .ok_or_else(|| SqsError::missing_parameter("Action"))?;
        Ok(Call {
            protocol: Protocol::Query,
            action,
            params: Params::Query(params),
        })
    }

    fn get(&self, name: &str) -> Option<String> {
        match &self.params {
            Params::Json(map) => match map.get(name)? {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            },
            Params::Query(list) => list.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
        }
    }

    /// A list of strings: JSON `json_name: [..]`, Query `query_name.1`, `query_name.2`, ...
    fn list(&self, json_name: &str, query_name: &str) -> Vec<String> {
        match &self.params {
            Params::Json(map) => match map.get(json_name) {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            },
            Params::Query(list) => {
                let mut numbered: Vec<(u32, String)> = list
                    .iter()
                    .filter_map(|(k, v)| {
                        let n = k
                            .strip_prefix(query_name)?
                            .strip_prefix('.')?
                            .parse()
                            .ok()?;
                        Some((n, v.clone()))
                    })
                    .collect();
                numbered.sort_by_key(|(n, _)| *n);
                numbered.into_iter().map(|(_, v)| v).collect()
            }
        }
    }

    pub fn queue_url(&self) -> Option<String> {
        self.get("QueueUrl")
    }

    /// Replaces (or adds) `QueueUrl`: a call forwarded to SQS names the real queue.
    pub fn set_queue_url(&mut self, url: &str) {
        match &mut self.params {
            Params::Json(map) => {
                map.insert("QueueUrl".into(), Value::String(url.into()));
            }
            Params::Query(list) => {
                list.retain(|(k, _)| k != "QueueUrl");
                list.push(("QueueUrl".into(), url.into()));
            }
        }
    }

    /// The body to send to SQS, in the protocol the worker used.
    pub fn encode(&self) -> Vec<u8> {
        match &self.params {
            Params::Json(map) => serde_json::to_vec(map).unwrap_or_default(),
            Params::Query(list) => form_urlencoded::Serializer::new(String::new())
                .extend_pairs(list)
                .finish()
                .into_bytes(),
        }
    }

    pub fn receive_request(&self) -> Result<ReceiveRequest, SqsError> {
        let max = match self.get("MaxNumberOfMessages") {
            None => 1,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=10).contains(&n) => n,
                _ => {
                    return Err(SqsError::invalid_parameter(format!(
                        "Value {v} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."
                    )))
                }
            },
        };
        let wait = match self.get("WaitTimeSeconds") {
            None => None,
            Some(v) => match v.parse::<u64>() {
                Ok(n) if n <= 20 => Some(Duration::from_secs(n)),
                _ => {
                    return Err(SqsError::invalid_parameter(format!(
                        "Value {v} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided."
                    )))
                }
            },
        };
        let mut attribute_names = self.list("AttributeNames", "AttributeName");
        attribute_names
            .extend(self.list("MessageSystemAttributeNames", "MessageSystemAttributeName"));
        Ok(ReceiveRequest {
            max,
            wait,
            attribute_names,
            message_attribute_names: self.list("MessageAttributeNames", "MessageAttributeName"),
        })
    }

    pub fn receipt_handle(&self) -> Result<String, SqsError> {
        self.get("ReceiptHandle")
            .ok_or_else(|| SqsError::missing_parameter("ReceiptHandle"))
    }

    /// The receipt handles of a batch call's entries (`ChangeMessageVisibilityBatch`), unchecked:
    /// JSON `Entries[].ReceiptHandle`, Query `<Action>RequestEntry.N.ReceiptHandle`.
    pub fn entry_handles(&self) -> Vec<String> {
        match &self.params {
            Params::Json(map) => match map.get("Entries") {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(|e| e.get("ReceiptHandle")?.as_str().map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            },
            Params::Query(list) => list
                .iter()
                .filter(|(k, _)| {
                    k.split_once("RequestEntry.")
                        .and_then(|(_, rest)| rest.split_once('.'))
                        .is_some_and(|(n, f)| n.parse::<u32>().is_ok() && f == "ReceiptHandle")
                })
                .map(|(_, v)| v.clone())
                .collect(),
        }
    }

    /// `DeleteMessageBatch`'s entries as (Id, ReceiptHandle), checked as SQS checks them.
    pub fn delete_entries(&self) -> Result<Vec<(String, String)>, SqsError> {
        let entries: Vec<(String, String)> = match &self.params {
            Params::Json(map) => match map.get("Entries") {
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|e| {
                        let field = |k: &str| e.get(k).and_then(Value::as_str).map(str::to_string);
                        match (field("Id"), field("ReceiptHandle")) {
                            (Some(id), Some(h)) => Ok((id, h)),
                            _ => Err(SqsError::missing_parameter("Entries.Id/ReceiptHandle")),
                        }
                    })
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err(SqsError::invalid_parameter("Entries must be a list.")),
                None => Vec::new(),
            },
            Params::Query(list) => {
                let prefix = "DeleteMessageBatchRequestEntry.";
                let mut by_n: BTreeMap<u32, (Option<String>, Option<String>)> = BTreeMap::new();
                for (k, v) in list {
                    let Some(rest) = k.strip_prefix(prefix) else {
                        continue;
                    };
                    let Some((n, field)) = rest.split_once('.') else {
                        continue;
                    };
                    let Ok(n) = n.parse::<u32>() else { continue };
                    let slot = by_n.entry(n).or_default();
                    match field {
                        "Id" => slot.0 = Some(v.clone()),
                        "ReceiptHandle" => slot.1 = Some(v.clone()),
                        _ => {}
                    }
                }
                by_n.into_values()
                    .map(|slot| match slot {
                        (Some(id), Some(h)) => Ok((id, h)),
                        (Some(_), None) => Err(SqsError::missing_parameter(
                            "DeleteMessageBatchRequestEntry.N.ReceiptHandle",
                        )),
                        _ => Err(SqsError::missing_parameter(
                            "DeleteMessageBatchRequestEntry.N.Id",
                        )),
                    })
                    .collect::<Result<_, _>>()?
            }
        };
        if entries.is_empty() {
            return Err(SqsError::empty_batch());
        }
        if entries.len() > 10 {
            return Err(SqsError::too_many_entries(entries.len()));
        }
        let mut ids: Vec<&str> = entries.iter().map(|(id, _)| id.as_str()).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            return Err(SqsError::ids_not_distinct());
        }
        Ok(entries)
    }
}

impl ReceiveRequest {
    fn wants_attribute(&self, name: &str) -> bool {
        self.attribute_names.iter().any(|a| a == "All" || a == name)
    }

    fn wants_message_attribute(&self, name: &str) -> bool {
        self.message_attribute_names.iter().any(|a| {
            a == "All"
                || a == ".*"
                || a == name
                || a.strip_suffix(".*").is_some_and(|prefix| {
                    name.strip_prefix(prefix)
                        .is_some_and(|rest| rest.starts_with('.'))
                })
        })
    }

    /// The message as this request sees it: only the attributes asked for. The digest of the
    /// message attributes covers all of them, so it goes with them only when all are returned.
    pub fn select(&self, m: &Message) -> Message {
        let attributes = m
            .attributes
            .iter()
            .filter(|(k, _)| self.wants_attribute(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let message_attributes: BTreeMap<String, MessageAttribute> = m
            .message_attributes
            .iter()
            .filter(|(k, _)| self.wants_message_attribute(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let all = !message_attributes.is_empty()
            && message_attributes.len() == m.message_attributes.len();
        Message {
            message_id: m.message_id.clone(),
            receipt_handle: m.receipt_handle.clone(),
            md5_of_body: m.md5_of_body.clone(),
            body: m.body.clone(),
            attributes,
            md5_of_message_attributes: if all {
                m.md5_of_message_attributes.clone()
            } else {
                None
            },
            message_attributes,
        }
    }
}

/// An answer: (HTTP status, content type, body).
pub type Rendered = (u16, &'static str, Vec<u8>);

pub fn render(protocol: Protocol, action: &str, reply: &Reply, request_id: &str) -> Rendered {
    match protocol {
        Protocol::Json => (
            200,
            JSON_CONTENT_TYPE,
            render_json(reply).to_string().into_bytes(),
        ),
        Protocol::Query => (
            200,
            XML_CONTENT_TYPE,
            render_xml(action, reply, request_id).into_bytes(),
        ),
    }
}

fn render_json(reply: &Reply) -> Value {
    match reply {
        Reply::Receive(messages) if messages.is_empty() => json!({}),
        Reply::Receive(messages) => {
            let list: Vec<Value> = messages
                .iter()
                .map(|m| {
                    let mut o = Map::new();
                    o.insert("MessageId".into(), json!(m.message_id));
                    o.insert("ReceiptHandle".into(), json!(m.receipt_handle));
                    o.insert("MD5OfBody".into(), json!(m.md5_of_body));
                    o.insert("Body".into(), json!(m.body));
                    if !m.attributes.is_empty() {
                        o.insert("Attributes".into(), json!(m.attributes));
                    }
                    if let Some(md5) = &m.md5_of_message_attributes {
                        o.insert("MD5OfMessageAttributes".into(), json!(md5));
                    }
                    if !m.message_attributes.is_empty() {
                        let attrs: Map<String, Value> = m
                            .message_attributes
                            .iter()
                            .map(|(k, a)| {
                                let mut v = Map::new();
                                if let Some(s) = &a.string_value {
                                    v.insert("StringValue".into(), json!(s));
                                }
                                if let Some(b) = &a.binary_value {
                                    v.insert("BinaryValue".into(), json!(b));
                                }
                                v.insert("DataType".into(), json!(a.data_type));
                                (k.clone(), Value::Object(v))
                            })
                            .collect();
                        o.insert("MessageAttributes".into(), Value::Object(attrs));
                    }
                    Value::Object(o)
                })
                .collect();
            json!({ "Messages": list })
        }
        Reply::Delete => json!({}),
        Reply::DeleteBatch { successful, failed } => json!({
            "Successful": successful.iter().map(|id| json!({"Id": id})).collect::<Vec<_>>(),
            "Failed": failed.iter().map(|f| json!({
                "Id": f.id, "SenderFault": f.sender_fault, "Code": f.code, "Message": f.message,
            })).collect::<Vec<_>>(),
        }),
    }
}

/// Escapes text for an XML element's content.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
    out
}

fn element(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    out.push_str(&xml_escape(text));
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn render_xml(action: &str, reply: &Reply, request_id: &str) -> String {
    let mut out = format!("<?xml version=\"1.0\"?><{action}Response xmlns=\"{XMLNS}\">");
    match reply {
        Reply::Receive(messages) => {
            out.push_str("<ReceiveMessageResult>");
            for m in messages {
                out.push_str("<Message>");
                element(&mut out, "MessageId", &m.message_id);
                element(&mut out, "ReceiptHandle", &m.receipt_handle);
                element(&mut out, "MD5OfBody", &m.md5_of_body);
                element(&mut out, "Body", &m.body);
                for (k, v) in &m.attributes {
                    out.push_str("<Attribute>");
                    element(&mut out, "Name", k);
                    element(&mut out, "Value", v);
                    out.push_str("</Attribute>");
                }
                if let Some(md5) = &m.md5_of_message_attributes {
                    element(&mut out, "MD5OfMessageAttributes", md5);
                }
                for (k, a) in &m.message_attributes {
                    out.push_str("<MessageAttribute>");
                    element(&mut out, "Name", k);
                    out.push_str("<Value>");
                    if let Some(s) = &a.string_value {
                        element(&mut out, "StringValue", s);
                    }
                    if let Some(b) = &a.binary_value {
                        element(&mut out, "BinaryValue", b);
                    }
                    element(&mut out, "DataType", &a.data_type);
                    out.push_str("</Value></MessageAttribute>");
                }
                out.push_str("</Message>");
            }
            out.push_str("</ReceiveMessageResult>");
        }
        Reply::Delete => {}
        Reply::DeleteBatch { successful, failed } => {
            out.push_str("<DeleteMessageBatchResult>");
            for id in successful {
                out.push_str("<DeleteMessageBatchResultEntry>");
                element(&mut out, "Id", id);
                out.push_str("</DeleteMessageBatchResultEntry>");
            }
            for f in failed {
                out.push_str("<BatchResultErrorEntry>");
                element(&mut out, "Id", &f.id);
                element(
                    &mut out,
                    "SenderFault",
                    if f.sender_fault { "true" } else { "false" },
                );
                element(&mut out, "Code", &f.code);
                element(&mut out, "Message", &f.message);
                out.push_str("</BatchResultErrorEntry>");
            }
            out.push_str("</DeleteMessageBatchResult>");
        }
    }
    out.push_str("<ResponseMetadata>");
    element(&mut out, "RequestId", request_id);
    out.push_str("</ResponseMetadata>");
    out.push_str(&format!("</{action}Response>"));
    out
}

/// An error answer; the JSON protocol's also carries `x-amzn-query-error` (returned separately).
pub fn render_error(
    protocol: Protocol,
    e: &SqsError,
    request_id: &str,
) -> (Rendered, Option<String>) {
    let fault = if e.sender_fault { "Sender" } else { "Receiver" };
    match protocol {
        Protocol::Json => {
            let body = json!({
                "__type": format!("com.amazonaws.sqs#{}", e.code),
                "message": e.message,
            });
            (
                (e.status, JSON_CONTENT_TYPE, body.to_string().into_bytes()),
                Some(format!("{};{fault}", e.query_code)),
            )
        }
        Protocol::Query => {
            let mut out =
                format!("<?xml version=\"1.0\"?><ErrorResponse xmlns=\"{XMLNS}\"><Error>");
            element(&mut out, "Type", fault);
            element(&mut out, "Code", e.query_code);
            element(&mut out, "Message", &e.message);
            out.push_str("<Detail/></Error>");
            element(&mut out, "RequestId", request_id);
            out.push_str("</ErrorResponse>");
            ((e.status, XML_CONTENT_TYPE, out.into_bytes()), None)
        }
    }
}

#[cfg(test)]
mod tests;
