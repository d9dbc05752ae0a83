//! What an entity says about itself in service discovery (XEP-0030), and its entity
//! capabilities hash (XEP-0115).

use base64::Engine as _;

use crate::Element;
use crate::ns;

/// A disco identity: category, type, optional name and language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The category, e.g. `server`, `account`.
    pub category: String,
    /// The type within the category, e.g. `im`, `registered`.
    pub kind: String,
    /// A human-readable name.
    pub name: Option<String>,
    /// The language of `name`.
    pub lang: Option<String>,
}

impl Identity {
    /// An identity without a name.
    pub fn new(category: &str, kind: &str) -> Self {
        Self {
            category: category.to_owned(),
            kind: kind.to_owned(),
            name: None,
            lang: None,
        }
    }

    /// With a name.
    #[must_use]
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }
}

/// The `disco#info` of an entity: identities, features and extended forms (XEP-0128).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiscoInfo {
    /// Identities.
    pub identities: Vec<Identity>,
    /// Feature `var`s.
    pub features: Vec<String>,
    /// Data forms (`jabber:x:data`, type `result`) extending the answer.
    pub extensions: Vec<Element>,
}

impl DiscoInfo {
    /// Adds a feature unless present.
    pub fn add_feature(&mut self, var: &str) {
        if !self.features.iter().any(|f| f == var) {
            self.features.push(var.to_owned());
        }
    }

    /// Whether a feature is advertised.
    pub fn has_feature(&self, var: &str) -> bool {
        self.features.iter().any(|f| f == var)
    }

    /// The `<query xmlns='…disco#info'>` answer, with `node` when the request named one.
    pub fn to_element(&self, node: Option<&str>) -> Element {
        let mut q = Element::new("query", ns::DISCO_INFO);
        if let Some(n) = node {
            q.set_attr("node", n);
        }
        for id in &self.identities {
            let mut el = Element::new("identity", ns::DISCO_INFO)
                .with_attr("category", id.category.as_str())
                .with_attr("type", id.kind.as_str());
            if let Some(name) = &id.name {
                el.set_attr("name", name.as_str());
            }
            if let Some(lang) = &id.lang {
                el.set_attr_ns(crate::element::XML_NS, "lang", lang.as_str());
            }
            q.append_child(el);
        }
        for f in &self.features {
            q.append_child(Element::new("feature", ns::DISCO_INFO).with_attr("var", f.as_str()));
        }
        for x in &self.extensions {
            q.append_child(x.clone());
        }
        q
    }

    /// The XEP-0115 §5.1 verification string, SHA-1, base64.
    pub fn caps_ver(&self) -> String {
        let mut ids: Vec<String> = self
            .identities
            .iter()
            .map(|i| {
                format!(
                    "{}/{}/{}/{}",
                    i.category,
                    i.kind,
                    i.lang.as_deref().unwrap_or(""),
                    i.name.as_deref().unwrap_or("")
                )
            })
            .collect();
        ids.sort();
        let mut features = self.features.clone();
        features.sort();
        let mut s = String::new();
        for id in ids {
            s.push_str(&id);
            s.push('<');
        }
        for f in features {
            s.push_str(&f);
            s.push('<');
        }
        let mut forms: Vec<(String, &Element)> = self
            .extensions
            .iter()
            .map(|x| (form_type(x).unwrap_or_default(), x))
            .collect();
        forms.sort_by(|a, b| a.0.cmp(&b.0));
        for (form_type, form) in forms {
            s.push_str(&form_type);
            s.push('<');
            let mut fields: Vec<(String, Vec<String>)> = form
                .children()
                .filter(|f| f.is("field", ns::DATA_FORMS))
                .filter_map(|f| {
                    let var = f.attr("var")?;
                    if var == "FORM_TYPE" {
                        return None;
                    }
                    let mut values: Vec<String> = f
                        .children()
                        .filter(|v| v.is("value", ns::DATA_FORMS))
                        .map(Element::text)
                        .collect();
                    values.sort();
                    Some((var.to_owned(), values))
                })
                .collect();
            fields.sort_by(|a, b| a.0.cmp(&b.0));
            for (var, values) in fields {
                s.push_str(&var);
                s.push('<');
                for v in values {
                    s.push_str(&v);
                    s.push('<');
                }
            }
        }
        let digest = sha1_smol::Sha1::from(s.as_bytes()).digest().bytes();
        base64::engine::general_purpose::STANDARD.encode(digest)
    }

    /// The XEP-0115 `<c/>` element for stream features and presence.
    pub fn caps_element(&self, node: &str) -> Element {
        Element::new("c", ns::CAPS)
            .with_attr("hash", "sha-1")
            .with_attr("node", node)
            .with_attr("ver", self.caps_ver())
    }
}

fn form_type(form: &Element) -> Option<String> {
    form.children()
        .find(|f| f.is("field", ns::DATA_FORMS) && f.attr("var") == Some("FORM_TYPE"))
        .and_then(|f| f.child_text("value", ns::DATA_FORMS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_ver_matches_the_xep_0115_simple_example() {
        // XEP-0115 §5.2.
        let info = DiscoInfo {
            identities: vec![Identity::new("client", "pc").with_name("Exodus 0.9.1")],
            features: vec![
                "http://jabber.org/protocol/caps".into(),
                "http://jabber.org/protocol/disco#info".into(),
                "http://jabber.org/protocol/disco#items".into(),
                "http://jabber.org/protocol/muc".into(),
            ],
            extensions: vec![],
        };
        assert_eq!(info.caps_ver(), "QgayPKawpkPSDYmwT/WM94uAlu0=");
    }

    #[test]
    fn caps_ver_matches_the_xep_0115_complex_example() {
        // XEP-0115 §5.3.
        let form: Element = "<x xmlns='jabber:x:data' type='result'>\
            <field var='FORM_TYPE' type='hidden'><value>urn:xmpp:dataforms:softwareinfo</value></field>\
            <field var='ip_version' type='text-multi'><value>ipv4</value><value>ipv6</value></field>\
            <field var='os'><value>Mac</value></field>\
            <field var='os_version'><value>10.5.1</value></field>\
            <field var='software'><value>Psi</value></field>\
            <field var='software_version'><value>0.11</value></field></x>"
            .parse()
            .expect("valid");
        let mut en = Identity::new("client", "pc").with_name("Psi 0.11");
        en.lang = Some("en".into());
        let mut el = Identity::new("client", "pc").with_name("Ψ 0.11");
        el.lang = Some("el".into());
        let info = DiscoInfo {
            identities: vec![en, el],
            features: vec![
                "http://jabber.org/protocol/caps".into(),
                "http://jabber.org/protocol/disco#info".into(),
                "http://jabber.org/protocol/disco#items".into(),
                "http://jabber.org/protocol/muc".into(),
            ],
            extensions: vec![form],
        };
        assert_eq!(info.caps_ver(), "q07IKJEyjvHSyhy//CH0CxmKi8w=");
    }
}
