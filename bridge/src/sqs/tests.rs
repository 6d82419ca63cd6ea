//! Requests as the SDKs send them and answers in the shapes of the Amazon SQS API reference
//! (`ReceiveMessage`, `DeleteMessage`, `DeleteMessageBatch`, "Common Errors"). The JSON requests
//! are what boto3 1.44 sends (the end-to-end tests run it against the supervisor too); the Query
//! requests are the API reference's examples.

use super::*;
use serde_json::json;

const QUEUE: &str = "https://sqs.us-east-1.amazonaws.com/123456789012/MyQueue";

fn message() -> Message {
    Message {
        message_id: "5fea7756-0ea4-451a-a703-a558b933e274".into(),
        receipt_handle: "MbZj6wDWli+JvwwJaBV+3dcjk2YW2vA3+STFFljTM8tJJg6HRG6PYSasuWXPJB+Cw".into(),
        md5_of_body: "fafb00f5732ab283681e124bf8747ed1".into(),
        body: "This is a test message <with> & \"marks\"".into(),
        attributes: [
            ("SenderId".to_string(), "195004372649".to_string()),
            ("SentTimestamp".to_string(), "1238099229000".to_string()),
            ("ApproximateReceiveCount".to_string(), "5".to_string()),
        ]
        .into(),
        md5_of_message_attributes: Some("d25a6aea97eb8f585bfa92d314504a92".into()),
        message_attributes: [(
            "City".to_string(),
            MessageAttribute {
                data_type: "String".into(),
                string_value: Some("Any City".into()),
                binary_value: None,
            },
        )]
        .into(),
    }
}

#[test]
fn json_receive_as_boto3_sends_it() {
    let body = json!({
        "QueueUrl": QUEUE, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 20,
        "AttributeNames": ["All"], "MessageAttributeNames": ["City"],
    });
    let call = Call::parse(
        Some("AmazonSQS.ReceiveMessage"),
        None,
        body.to_string().as_bytes(),
    )
    .unwrap();
    assert_eq!(call.protocol, Protocol::Json);
    assert_eq!(call.action, "ReceiveMessage");
    assert_eq!(call.queue_url().as_deref(), Some(QUEUE));
    let r = call.receive_request().unwrap();
    assert_eq!(r.max, 10);
    assert_eq!(r.wait, Some(Duration::from_secs(20)));
    let m = r.select(&message());
    assert_eq!(m.attributes.len(), 3);
    assert_eq!(m.message_attributes.len(), 1);
    assert!(
        m.md5_of_message_attributes.is_some(),
        "every attribute returned: the digest holds"
    );

    let (status, ct, out) = render(
        Protocol::Json,
        "ReceiveMessage",
        &Reply::Receive(vec![m]),
        "rid",
    );
    assert_eq!((status, ct), (200, JSON_CONTENT_TYPE));
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        v,
        json!({"Messages": [{
            "MessageId": "5fea7756-0ea4-451a-a703-a558b933e274",
            "ReceiptHandle": "MbZj6wDWli+JvwwJaBV+3dcjk2YW2vA3+STFFljTM8tJJg6HRG6PYSasuWXPJB+Cw",
            "MD5OfBody": "fafb00f5732ab283681e124bf8747ed1",
            "Body": "This is a test message <with> & \"marks\"",
            "Attributes": {"ApproximateReceiveCount": "5", "SenderId": "195004372649", "SentTimestamp": "1238099229000"},
            "MD5OfMessageAttributes": "d25a6aea97eb8f585bfa92d314504a92",
            "MessageAttributes": {"City": {"StringValue": "Any City", "DataType": "String"}},
        }]})
    );
    // No message: an empty object, as SQS answers.
    let (_, _, out) = render(
        Protocol::Json,
        "ReceiveMessage",
        &Reply::Receive(vec![]),
        "rid",
    );
    assert_eq!(out, b"{}");
}

#[test]
fn only_the_attributes_asked_for_and_the_digest_only_with_all_of_them() {
    let call = Call::parse(
        Some("AmazonSQS.ReceiveMessage"),
        None,
        json!({"QueueUrl": QUEUE}).to_string().as_bytes(),
    )
    .unwrap();
    let r = call.receive_request().unwrap();
    assert_eq!((r.max, r.wait), (1, None), "SQS's defaults");
    let m = r.select(&message());
    assert!(m.attributes.is_empty() && m.message_attributes.is_empty());
    assert_eq!(m.md5_of_message_attributes, None);

    let body = json!({"QueueUrl": QUEUE, "MessageSystemAttributeNames": ["SenderId"], "MessageAttributeNames": ["Ci.*", "Town"]});
    let r = Call::parse(
        Some("AmazonSQS.ReceiveMessage"),
        None,
        body.to_string().as_bytes(),
    )
    .unwrap()
    .receive_request()
    .unwrap();
    let m = r.select(&message());
    assert_eq!(m.attributes.keys().collect::<Vec<_>>(), vec!["SenderId"]);
    assert!(
        m.message_attributes.is_empty(),
        "`Ci.*` is a prefix followed by a dot"
    );
}

#[test]
fn query_receive_from_the_api_reference() {
    let body = format!(
        "Action=ReceiveMessage&QueueUrl={}&MaxNumberOfMessages=5&VisibilityTimeout=15&AttributeName.1=All&MessageAttributeName.1=City&Version=2012-11-05",
        form_urlencoded::byte_serialize(QUEUE.as_bytes()).collect::<String>()
    );
    let call = Call::parse(None, None, body.as_bytes()).unwrap();
    assert_eq!(call.protocol, Protocol::Query);
    assert_eq!(call.action, "ReceiveMessage");
    assert_eq!(call.queue_url().as_deref(), Some(QUEUE));
    let r = call.receive_request().unwrap();
    assert_eq!(r.max, 5);
    assert_eq!(r.attribute_names, vec!["All"]);
    let m = r.select(&message());

    let (status, ct, out) = render(
        Protocol::Query,
        "ReceiveMessage",
        &Reply::Receive(vec![m]),
        "b6633655-283d-45b4-aee4-4e84e0ae6afa",
    );
    assert_eq!((status, ct), (200, XML_CONTENT_TYPE));
    let xml = String::from_utf8(out).unwrap();
    assert_eq!(
        xml,
        concat!(
            "<?xml version=\"1.0\"?><ReceiveMessageResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\">",
            "<ReceiveMessageResult><Message>",
            "<MessageId>5fea7756-0ea4-451a-a703-a558b933e274</MessageId>",
            "<ReceiptHandle>MbZj6wDWli+JvwwJaBV+3dcjk2YW2vA3+STFFljTM8tJJg6HRG6PYSasuWXPJB+Cw</ReceiptHandle>",
            "<MD5OfBody>fafb00f5732ab283681e124bf8747ed1</MD5OfBody>",
            "<Body>This is a test message &lt;with&gt; &amp; &quot;marks&quot;</Body>",
            "<Attribute><Name>ApproximateReceiveCount</Name><Value>5</Value></Attribute>",
            "<Attribute><Name>SenderId</Name><Value>195004372649</Value></Attribute>",
            "<Attribute><Name>SentTimestamp</Name><Value>1238099229000</Value></Attribute>",
            "<MD5OfMessageAttributes>d25a6aea97eb8f585bfa92d314504a92</MD5OfMessageAttributes>",
            "<MessageAttribute><Name>City</Name><Value><StringValue>Any City</StringValue><DataType>String</DataType></Value></MessageAttribute>",
            "</Message></ReceiveMessageResult>",
            "<ResponseMetadata><RequestId>b6633655-283d-45b4-aee4-4e84e0ae6afa</RequestId></ResponseMetadata>",
            "</ReceiveMessageResponse>"
        )
    );
}

#[test]
fn query_parameters_may_come_in_the_url() {
    let q = "Action=ReceiveMessage&WaitTimeSeconds=3";
    let call = Call::parse(None, Some(q), b"").unwrap();
    assert_eq!(
        call.receive_request().unwrap().wait,
        Some(Duration::from_secs(3))
    );
    assert_eq!(call.queue_url(), None);
}

#[test]
fn delete_message_in_both_protocols() {
    let call = Call::parse(
        Some("AmazonSQS.DeleteMessage"),
        None,
        json!({"QueueUrl": QUEUE, "ReceiptHandle": "h+1/="})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(call.receipt_handle().unwrap(), "h+1/=");
    assert_eq!(
        render(Protocol::Json, "DeleteMessage", &Reply::Delete, "r").2,
        b"{}"
    );

    let call = Call::parse(
        None,
        None,
        b"Action=DeleteMessage&ReceiptHandle=h%2B1%2F%3D&Version=2012-11-05",
    )
    .unwrap();
    assert_eq!(call.receipt_handle().unwrap(), "h+1/=");
    let xml = String::from_utf8(render(Protocol::Query, "DeleteMessage", &Reply::Delete, "rid").2)
        .unwrap();
    assert_eq!(
        xml,
        "<?xml version=\"1.0\"?><DeleteMessageResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\"><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></DeleteMessageResponse>"
    );
    let e = Call::parse(None, None, b"Action=DeleteMessage")
        .unwrap()
        .receipt_handle()
        .unwrap_err();
    assert_eq!(e.code, "MissingParameter");
}

#[test]
fn delete_message_batch_in_both_protocols() {
    let body = json!({"QueueUrl": QUEUE, "Entries": [
        {"Id": "a", "ReceiptHandle": "h1"}, {"Id": "b", "ReceiptHandle": "h2"}]});
    let call = Call::parse(
        Some("AmazonSQS.DeleteMessageBatch"),
        None,
        body.to_string().as_bytes(),
    )
    .unwrap();
    assert_eq!(
        call.delete_entries().unwrap(),
        vec![("a".into(), "h1".into()), ("b".into(), "h2".into())]
    );
    let reply = Reply::DeleteBatch {
        successful: vec!["a".into()],
        failed: vec![BatchError {
            id: "b".into(),
            code: "ReceiptHandleIsInvalid".into(),
            message: "The receipt handle is not valid.".into(),
            sender_fault: true,
        }],
    };
    let v: Value =
        serde_json::from_slice(&render(Protocol::Json, "DeleteMessageBatch", &reply, "r").2)
            .unwrap();
    assert_eq!(
        v,
        json!({"Successful": [{"Id": "a"}], "Failed": [{"Id": "b", "SenderFault": true,
               "Code": "ReceiptHandleIsInvalid", "Message": "The receipt handle is not valid."}]})
    );

    // The Query form numbers its entries from 1; their order in the body does not matter.
    let body = "Action=DeleteMessageBatch&DeleteMessageBatchRequestEntry.2.Id=msg2&DeleteMessageBatchRequestEntry.1.Id=msg1\
                &DeleteMessageBatchRequestEntry.1.ReceiptHandle=h1&DeleteMessageBatchRequestEntry.2.ReceiptHandle=h2&Version=2012-11-05";
    let call = Call::parse(None, None, body.as_bytes()).unwrap();
    assert_eq!(
        call.delete_entries().unwrap(),
        vec![("msg1".into(), "h1".into()), ("msg2".into(), "h2".into())]
    );
    let xml =
        String::from_utf8(render(Protocol::Query, "DeleteMessageBatch", &reply, "rid").2).unwrap();
    assert_eq!(
        xml,
        concat!(
            "<?xml version=\"1.0\"?><DeleteMessageBatchResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\">",
            "<DeleteMessageBatchResult>",
            "<DeleteMessageBatchResultEntry><Id>a</Id></DeleteMessageBatchResultEntry>",
            "<BatchResultErrorEntry><Id>b</Id><SenderFault>true</SenderFault><Code>ReceiptHandleIsInvalid</Code>",
            "<Message>The receipt handle is not valid.</Message></BatchResultErrorEntry>",
            "</DeleteMessageBatchResult>",
            "<ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></DeleteMessageBatchResponse>"
        )
    );
}

#[test]
fn batch_deletes_are_checked_as_sqs_checks_them() {
    let parse = |entries: Value| {
        Call::parse(
            Some("AmazonSQS.DeleteMessageBatch"),
            None,
            json!({"QueueUrl": QUEUE, "Entries": entries})
                .to_string()
                .as_bytes(),
        )
        .unwrap()
        .delete_entries()
        .unwrap_err()
        .query_code
    };
    assert_eq!(parse(json!([])), "AWS.SimpleQueueService.EmptyBatchRequest");
    let eleven: Vec<Value> = (0..11)
        .map(|i| json!({"Id": i.to_string(), "ReceiptHandle": "h"}))
        .collect();
    assert_eq!(
        parse(json!(eleven)),
        "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
    );
    assert_eq!(
        parse(json!([{"Id": "a", "ReceiptHandle": "h"}, {"Id": "a", "ReceiptHandle": "i"}])),
        "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"
    );
}

#[test]
fn errors_in_both_protocols() {
    let e = Call::parse(
        Some("AmazonSQS.ReceiveMessage"),
        None,
        json!({"MaxNumberOfMessages": 11}).to_string().as_bytes(),
    )
    .unwrap()
    .receive_request()
    .unwrap_err();
    assert_eq!(e.status, 400);
    let ((status, ct, body), header) = render_error(Protocol::Json, &e, "rid");
    assert_eq!((status, ct), (400, JSON_CONTENT_TYPE));
    assert_eq!(header.as_deref(), Some("InvalidParameterValue;Sender"));
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["__type"], "com.amazonaws.sqs#InvalidParameterValue");
    assert!(v["message"]
        .as_str()
        .unwrap()
        .contains("MaxNumberOfMessages"));

    let e = Call::parse(None, None, b"Action=ReceiveMessage&WaitTimeSeconds=21")
        .unwrap()
        .receive_request()
        .unwrap_err();
    let ((status, ct, body), header) = render_error(Protocol::Query, &e, "rid");
    assert_eq!((status, ct, header), (400, XML_CONTENT_TYPE, None));
    assert_eq!(
        String::from_utf8(body).unwrap(),
        concat!(
            "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\"><Error>",
            "<Type>Sender</Type><Code>InvalidParameterValue</Code>",
            "<Message>Value 21 for parameter WaitTimeSeconds is invalid. Reason: Must be &gt;= 0 and &lt;= 20, if provided.</Message>",
            "<Detail/></Error><RequestId>rid</RequestId></ErrorResponse>"
        )
    );

    assert_eq!(
        Call::parse(None, None, b"QueueUrl=x").unwrap_err().code,
        "MissingParameter"
    );
    assert_eq!(
        Call::parse(Some("AmazonSQS.ReceiveMessage"), None, b"[1]")
            .unwrap_err()
            .code,
        "SerializationException"
    );
    assert_eq!(
        Call::parse(Some("DynamoDB_20120810.GetItem"), None, b"{}")
            .unwrap_err()
            .code,
        "InvalidAction"
    );
}

#[test]
fn a_forwarded_call_keeps_every_parameter_and_names_the_real_queue() {
    let body = json!({"QueueUrl": "http://127.0.0.1:9000/123456789012/MyQueue", "AttributeNames": ["All"]});
    let mut call = Call::parse(
        Some("AmazonSQS.GetQueueAttributes"),
        None,
        body.to_string().as_bytes(),
    )
    .unwrap();
    call.set_queue_url(QUEUE);
    let v: Value = serde_json::from_slice(&call.encode()).unwrap();
    assert_eq!(v, json!({"QueueUrl": QUEUE, "AttributeNames": ["All"]}));

    let mut call = Call::parse(
        None,
        None,
        b"Action=SendMessage&MessageBody=a+b%26c&Version=2012-11-05",
    )
    .unwrap();
    call.set_queue_url(QUEUE);
    let pairs: Vec<(String, String)> = form_urlencoded::parse(&call.encode())
        .into_owned()
        .collect();
    assert_eq!(
        pairs,
        vec![
            ("Action".into(), "SendMessage".into()),
            ("MessageBody".into(), "a b&c".into()),
            ("Version".into(), "2012-11-05".into()),
            ("QueueUrl".into(), QUEUE.into()),
        ]
    );
}
