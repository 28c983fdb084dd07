//! The envelope's schemas: the failure envelope, and `envelopes!`, which declares the success
//! envelope of a `Data` type (each resource declares its own beside its body types).

use utoipa::openapi::{ObjectBuilder, Ref, RefOr, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

/// `Status` of a successful answer.
#[derive(ToSchema)]
pub enum SuccessStatus {
    Success,
}

/// `Status` of a failed answer.
#[derive(ToSchema)]
pub enum FailureStatus {
    Failure,
}

/// JSON `null`: the `Data` of every failure.
pub struct Null;

impl PartialSchema for Null {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::Null).into()
    }
}

impl ToSchema for Null {}

/// A reference to `T`'s schema in the components.
pub fn schema_ref<T: ToSchema>() -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(T::name()))
}

/// The failure envelope: `Status` `Failure`, `Code` the HTTP status, `Error` a message naming the
/// offending field and rule (opaque for 500s), `Data` null.
#[derive(ToSchema)]
#[schema(example = json!({
    "RequestId": "0e8beb2c-5682-4718-a4ba-b3b7aa2d3c72",
    "Status": "Failure",
    "Code": 400,
    "Error": "Entity must be customer or app",
    "Data": null
}))]
pub struct ErrorEnvelope {
    /// The request's id (a UUID v4), also sent as `X-Request-Id`.
    #[serde(rename = "RequestId")]
    #[schema(format = "uuid")]
    pub request_id: String,
    #[serde(rename = "Status")]
    #[schema(inline)]
    pub status: FailureStatus,
    /// The HTTP status.
    #[serde(rename = "Code")]
    pub code: u16,
    /// What went wrong, naming the field or parameter and the rule.
    #[serde(rename = "Error")]
    pub error: String,
    #[serde(rename = "Data")]
    #[schema(inline)]
    pub data: Null,
}

/// Declares the success envelope of each `Data` type: `Name => DataType;`, with its doc comment.
/// Documentation only: the server answers through [`crate::envelope::Success`].
macro_rules! envelopes {
    ($($(#[doc = $doc:literal])* $name:ident => $data:ty;)*) => {$(
        $(#[doc = $doc])*
        #[derive(utoipa::ToSchema)]
        pub struct $name {
            /// The request's id (a UUID v4), also sent as `X-Request-Id`.
            #[serde(rename = "RequestId")]
            #[schema(format = "uuid", example = "f4f76061-3c01-410e-be49-55a17049cf35")]
            pub request_id: String,
            #[serde(rename = "Status")]
            #[schema(inline)]
            pub status: $crate::api::openapi::schemas::SuccessStatus,
            /// The HTTP status: 200.
            #[serde(rename = "Code")]
            #[schema(example = 200)]
            pub code: u16,
            /// `""` on success.
            #[serde(rename = "Error")]
            #[schema(example = "")]
            pub error: String,
            #[serde(rename = "Data")]
            pub data: $data,
        }
    )*};
}
pub(crate) use envelopes;

envelopes! {
    /// A success envelope whose `Data` is a string (a token, or a fixed message such as `Deleted Successfully`).
    StringEnvelope => String;
}
