//! The JSON Schemas (draft 2020-12) of the formats x07 writes, embedded in the binary.

/// One embedded schema: the format id it describes, its file name under `spec/schemas/`, its text.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedSchema {
    /// Format id, e.g. `x07.project@0.5.0`.
    pub id: &'static str,
    /// File name under `spec/schemas/`.
    pub file_name: &'static str,
    /// The schema JSON.
    pub text: &'static str,
}

/// Every embedded schema.
pub const SCHEMAS: &[EmbeddedSchema] = &[
    EmbeddedSchema {
        id: "x07.project@0.5.0",
        file_name: "x07-project.schema.json",
        text: include_str!("../schemas/x07-project.schema.json"),
    },
    EmbeddedSchema {
        id: "x07.project@0.6.0",
        file_name: "x07-project-0.6.schema.json",
        text: include_str!("../schemas/x07-project-0.6.schema.json"),
    },
    EmbeddedSchema {
        id: "x07.x07ast",
        file_name: "x07-x07ast.schema.json",
        text: include_str!("../schemas/x07-x07ast.schema.json"),
    },
    EmbeddedSchema {
        id: "x07.lock@0.5.0",
        file_name: "x07-lock.schema.json",
        text: include_str!("../schemas/x07-lock.schema.json"),
    },
    EmbeddedSchema {
        id: "x07-os-runner.report@0.5.0",
        file_name: "x07-os-runner.report.schema.json",
        text: include_str!("../schemas/x07-os-runner.report.schema.json"),
    },
    EmbeddedSchema {
        id: "x07.run.report@0.3.0",
        file_name: "x07-run.report.schema.json",
        text: include_str!("../schemas/x07-run.report.schema.json"),
    },
    EmbeddedSchema {
        id: "x07.run-os-policy@0.1.0",
        file_name: "x07.run-os-policy@0.1.0.schema.json",
        text: include_str!("../schemas/x07.run-os-policy@0.1.0.schema.json"),
    },
    EmbeddedSchema {
        id: "x07.policy.init.report@0.1.0",
        file_name: "x07.policy.init.report@0.1.0.schema.json",
        text: include_str!("../schemas/x07.policy.init.report@0.1.0.schema.json"),
    },
    EmbeddedSchema {
        id: "x07.package@0.1.0",
        file_name: "x07.package@0.1.0.schema.json",
        text: include_str!("../schemas/x07.package@0.1.0.schema.json"),
    },
    EmbeddedSchema {
        id: "x07.store.cache-entry@0.1.0",
        file_name: "x07.store.cache-entry@0.1.0.schema.json",
        text: include_str!("../schemas/x07.store.cache-entry@0.1.0.schema.json"),
    },
    EmbeddedSchema {
        id: "x07.store.signatures@0.1.0",
        file_name: "x07.store.signatures@0.1.0.schema.json",
        text: include_str!("../schemas/x07.store.signatures@0.1.0.schema.json"),
    },
    EmbeddedSchema {
        id: "x07.substituters@0.1.0",
        file_name: "x07.substituters@0.1.0.schema.json",
        text: include_str!("../schemas/x07.substituters@0.1.0.schema.json"),
    },
];

/// The schema text for a format id (`x07.project@0.5.0`) or a schema file name.
pub fn schema(name: &str) -> Option<&'static str> {
    SCHEMAS
        .iter()
        .find(|s| s.id == name || s.file_name == name)
        .map(|s| s.text)
}
