//! The HTML of the pages: plain, accessible forms (a label for every input, the language
//! declared, errors announced) that need no script, with a small inline stylesheet. Every
//! piece of text that is not a literal here goes through [`escape`].

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::captcha::Challenge;

/// The form field names, shared by the pages and the handlers.
pub(super) mod field {
    /// The CSRF token.
    pub(in super::super) const CSRF: &str = "csrf";
    /// The username (a localpart, or a full address on the password and delete pages).
    pub(in super::super) const USERNAME: &str = "username";
    /// The domain (registration on a server with several hosts).
    pub(in super::super) const DOMAIN: &str = "domain";
    /// The password (registration) or the current password.
    pub(in super::super) const PASSWORD: &str = "password";
    /// The password again (registration).
    pub(in super::super) const PASSWORD_AGAIN: &str = "password2";
    /// The new password.
    pub(in super::super) const NEW_PASSWORD: &str = "new_password";
    /// The new password again.
    pub(in super::super) const NEW_PASSWORD_AGAIN: &str = "new_password2";
    /// What the person read in the CAPTCHA image.
    pub(in super::super) const CAPTCHA: &str = "captcha";
    /// The CAPTCHA challenge id.
    pub(in super::super) const CAPTCHA_ID: &str = "captcha_id";
    /// The deletion confirmation.
    pub(in super::super) const CONFIRM: &str = "confirm";
}

/// What has to be typed to confirm a deletion.
pub(super) const DELETE_CONFIRMATION: &str = "DELETE";

/// The three forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FormKind {
    /// Create an account.
    Register,
    /// Change a password.
    Password,
    /// Delete an account.
    Delete,
}

impl FormKind {
    /// Where the form lives and posts to.
    pub(super) const fn path(self) -> &'static str {
        match self {
            Self::Register => "/register",
            Self::Password => "/password",
            Self::Delete => "/delete",
        }
    }

    /// The page's heading.
    pub(super) const fn title(self) -> &'static str {
        match self {
            Self::Register => "Create an account",
            Self::Password => "Change your password",
            Self::Delete => "Delete your account",
        }
    }

    const fn submit(self) -> &'static str {
        match self {
            Self::Register => "Create account",
            Self::Password => "Change password",
            Self::Delete => "Delete account",
        }
    }
}

/// Everything a form page shows.
#[derive(Debug, Clone, Copy)]
pub(super) struct FormView<'a> {
    /// Which form.
    pub(super) kind: FormKind,
    /// The server's name, for the title and the header.
    pub(super) site: &'a str,
    /// The CSRF token for the hidden field.
    pub(super) csrf_token: &'a str,
    /// The CAPTCHA, when one is asked.
    pub(super) captcha: Option<&'a Challenge>,
    /// Why the last submission was refused.
    pub(super) error: Option<&'a str>,
    /// The username to fill in again (never a password).
    pub(super) username: &'a str,
    /// The hosted domains (registration offers a choice when there are several).
    pub(super) domains: &'a [String],
    /// The domain selected.
    pub(super) domain: &'a str,
}

/// How a message page reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tone {
    /// Something was done.
    Success,
    /// Something was refused.
    Refusal,
}

/// Escapes text for HTML element content and quoted attribute values.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "\
body{font:1.05rem/1.5 system-ui,sans-serif;margin:0 auto;max-width:34rem;padding:1rem;\
color:#1a1a1a;background:#fff}\
h1{font-size:1.6rem;margin:.5rem 0 1rem}\
label{display:block;font-weight:600;margin-top:1rem}\
input,select,button{font:inherit;box-sizing:border-box;width:100%;padding:.5rem;\
border:2px solid #555;border-radius:4px;margin-top:.25rem}\
button{width:auto;background:#0b57d0;color:#fff;border-color:#0b57d0;cursor:pointer;\
margin-top:1.25rem;padding:.5rem 1.25rem}\
:focus{outline:3px solid #e8710a;outline-offset:2px}\
.hint{color:#444;font-size:.95rem;margin:.25rem 0 0}\
.error,.refusal{border-left:6px solid #b3261e;background:#fdecea;padding:.75rem}\
.success{border-left:6px solid #146c2e;background:#e6f4ea;padding:.75rem}\
fieldset{border:2px solid #999;border-radius:4px;margin-top:1rem}\
img{display:block;max-width:100%;height:auto;background:#fff;border:1px solid #999}\
nav ul{padding-left:1.25rem}";

fn document(site: &str, title: &str, main: &str) -> String {
    let site = escape(site);
    let title = escape(title);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"robots\" content=\"noindex\">\n\
         <title>{title} – {site}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <header><p><a href=\"/\">{site}</a></p></header>\n<main>\n<h1>{title}</h1>\n{main}</main>\n\
         <nav aria-label=\"Account pages\"><ul>\n\
         <li><a href=\"/register\">Create an account</a></li>\n\
         <li><a href=\"/password\">Change your password</a></li>\n\
         <li><a href=\"/delete\">Delete your account</a></li>\n\
         </ul></nav>\n</body>\n</html>\n"
    )
}

/// The start page: what this is, and the links.
pub(super) fn index(site: &str, domains: &[String]) -> String {
    let hosts = domains
        .iter()
        .map(|d| escape(d))
        .collect::<Vec<_>>()
        .join(", ");
    let main = format!(
        "<p>Accounts on the XMPP server for {hosts}: create one, change its password, or \
         delete it. Use any XMPP client to chat once you have an account.</p>\n"
    );
    document(site, "Your XMPP account", &main)
}

/// A page with one message and no form: a success, or a refusal that a form cannot fix.
pub(super) fn message(site: &str, title: &str, tone: Tone, text: &str) -> String {
    let (class, role) = match tone {
        Tone::Success => ("success", "status"),
        Tone::Refusal => ("refusal", "alert"),
    };
    let main = format!(
        "<p class=\"{class}\" role=\"{role}\">{}</p>\n",
        escape(text)
    );
    document(site, title, &main)
}

/// A form page, with the error of the last submission when there was one.
pub(super) fn form(view: &FormView<'_>) -> String {
    let mut main = String::new();
    if let Some(error) = view.error {
        let _ = writeln!(
            main,
            "<p class=\"error\" role=\"alert\" id=\"form-error\">{}</p>",
            escape(error)
        );
    }
    if view.kind == FormKind::Delete {
        main.push_str(
            "<p>Deleting an account removes its contacts, messages and settings for good. \
             Its address cannot be registered again for a while.</p>\n",
        );
    }
    let described = if view.error.is_some() {
        " aria-describedby=\"form-error\""
    } else {
        ""
    };
    let _ = writeln!(
        main,
        "<form method=\"post\" action=\"{}\"{described}>\n\
         <input type=\"hidden\" name=\"{}\" value=\"{}\">",
        view.kind.path(),
        field::CSRF,
        escape(view.csrf_token)
    );
    username_field(&mut main, view);
    match view.kind {
        FormKind::Register => {
            password_field(&mut main, field::PASSWORD, "Password", "new-password", true);
            password_field(
                &mut main,
                field::PASSWORD_AGAIN,
                "Password again",
                "new-password",
                false,
            );
        }
        FormKind::Password => {
            password_field(
                &mut main,
                field::PASSWORD,
                "Current password",
                "current-password",
                false,
            );
            password_field(
                &mut main,
                field::NEW_PASSWORD,
                "New password",
                "new-password",
                true,
            );
            password_field(
                &mut main,
                field::NEW_PASSWORD_AGAIN,
                "New password again",
                "new-password",
                false,
            );
        }
        FormKind::Delete => {
            password_field(
                &mut main,
                field::PASSWORD,
                "Password",
                "current-password",
                false,
            );
            let _ = writeln!(
                main,
                "<label for=\"{c}\">Type {DELETE_CONFIRMATION} to confirm</label>\n\
                 <input id=\"{c}\" name=\"{c}\" type=\"text\" required autocomplete=\"off\" \
                 autocapitalize=\"characters\" spellcheck=\"false\">",
                c = field::CONFIRM
            );
        }
    }
    if let Some(challenge) = view.captcha {
        captcha_fields(&mut main, challenge);
    }
    let _ = writeln!(
        main,
        "<button type=\"submit\">{}</button>\n</form>",
        view.kind.submit()
    );
    document(view.site, view.kind.title(), &main)
}

fn username_field(out: &mut String, view: &FormView<'_>) {
    let u = field::USERNAME;
    let value = escape(view.username);
    match view.kind {
        FormKind::Register if view.domains.len() > 1 => {
            let _ = writeln!(
                out,
                "<label for=\"{u}\">Username</label>\n\
                 <input id=\"{u}\" name=\"{u}\" type=\"text\" required autocomplete=\"username\" \
                 autocapitalize=\"none\" spellcheck=\"false\" value=\"{value}\">"
            );
            let d = field::DOMAIN;
            let _ = writeln!(
                out,
                "<label for=\"{d}\">Domain</label>\n<select id=\"{d}\" name=\"{d}\">"
            );
            for domain in view.domains {
                let selected = if domain == view.domain {
                    " selected"
                } else {
                    ""
                };
                let domain = escape(domain);
                let _ = writeln!(
                    out,
                    "<option value=\"{domain}\"{selected}>{domain}</option>"
                );
            }
            out.push_str("</select>\n");
        }
        FormKind::Register => {
            let _ = writeln!(
                out,
                "<label for=\"{u}\">Username</label>\n\
                 <input id=\"{u}\" name=\"{u}\" type=\"text\" required autocomplete=\"username\" \
                 autocapitalize=\"none\" spellcheck=\"false\" aria-describedby=\"{u}-hint\" \
                 value=\"{value}\">\n\
                 <p class=\"hint\" id=\"{u}-hint\">Your address will be username@{}.</p>",
                escape(view.domain)
            );
        }
        FormKind::Password | FormKind::Delete => {
            let _ = writeln!(
                out,
                "<label for=\"{u}\">Address or username</label>\n\
                 <input id=\"{u}\" name=\"{u}\" type=\"text\" required autocomplete=\"username\" \
                 autocapitalize=\"none\" spellcheck=\"false\" aria-describedby=\"{u}-hint\" \
                 value=\"{value}\">\n\
                 <p class=\"hint\" id=\"{u}-hint\">For example name@{}, or just name.</p>",
                escape(view.domain)
            );
        }
    }
}

fn password_field(out: &mut String, name: &str, label: &str, autocomplete: &str, hint: bool) {
    let described = if hint {
        format!(" aria-describedby=\"{name}-hint\"")
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "<label for=\"{name}\">{label}</label>\n\
         <input id=\"{name}\" name=\"{name}\" type=\"password\" required \
         autocomplete=\"{autocomplete}\"{described}>"
    );
    if hint {
        let _ = writeln!(
            out,
            "<p class=\"hint\" id=\"{name}-hint\">A long passphrase of several unrelated words \
             is both strong and easy to remember.</p>"
        );
    }
}

fn captcha_fields(out: &mut String, challenge: &Challenge) {
    let c = field::CAPTCHA;
    let _ = writeln!(
        out,
        "<fieldset>\n<legend>Are you a person?</legend>\n\
         <img src=\"data:image/png;base64,{png}\" alt=\"A picture of a few distorted letters and \
         digits. If you cannot read it, ask the server's operator for an account.\">\n\
         <label for=\"{c}\">The characters in the picture</label>\n\
         <input id=\"{c}\" name=\"{c}\" type=\"text\" required autocomplete=\"off\" \
         autocapitalize=\"none\" spellcheck=\"false\">\n\
         <input type=\"hidden\" name=\"{id_name}\" value=\"{id}\">\n</fieldset>",
        png = STANDARD.encode(&challenge.png),
        id_name = field::CAPTCHA_ID,
        id = escape(&challenge.id),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn challenge() -> Challenge {
        Challenge {
            id: "00112233445566778899aabbccddeeff".to_owned(),
            png: bytes::Bytes::from_static(b"\x89PNG"),
        }
    }

    fn view<'a>(kind: FormKind, domains: &'a [String], c: Option<&'a Challenge>) -> FormView<'a> {
        FormView {
            kind,
            site: "example.org",
            csrf_token: "123.abc",
            captcha: c,
            error: Some("<script>alert(1)</script> & \"quotes\""),
            username: "\"><img src=x>",
            domains,
            domain: "example.org",
        }
    }

    #[test]
    fn escaping_covers_the_five_characters() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn forms_have_a_label_for_every_input_and_escape_what_they_echo() {
        let domains = vec!["example.org".to_owned(), "example.net".to_owned()];
        let c = challenge();
        for kind in [FormKind::Register, FormKind::Password, FormKind::Delete] {
            let html = form(&view(kind, &domains, Some(&c)));
            assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
            assert!(!html.contains("<script"), "{html}");
            assert!(!html.contains("<img src=x>"), "{html}");
            assert!(
                html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;")
            );
            assert!(html.contains("role=\"alert\""));
            assert!(html.contains("name=\"csrf\" value=\"123.abc\""));
            assert!(html.contains("src=\"data:image/png;base64,iVBORw==\""));
            assert!(
                html.contains("name=\"captcha_id\" value=\"00112233445566778899aabbccddeeff\"")
            );
            assert!(html.contains(&format!("action=\"{}\"", kind.path())));
            // Every visible control has a label pointing at it.
            for id in html
                .split("<input id=\"")
                .skip(1)
                .chain(html.split("<select id=\"").skip(1))
            {
                let id = id.split('"').next().unwrap_or_default();
                assert!(
                    html.contains(&format!("<label for=\"{id}\">")),
                    "no label for {id}"
                );
            }
            // Nothing that needs script or loads anything.
            assert!(!html.contains("javascript:") && !html.contains("http"));
        }
        let html = form(&view(FormKind::Register, &domains, None));
        assert!(html.contains("<option value=\"example.net\">"));
        assert!(html.contains("<option value=\"example.org\" selected>"));
        assert!(!html.contains("captcha"));
    }

    #[test]
    fn messages_are_escaped() {
        let html = message("s", "Refused", Tone::Refusal, "<b>no</b>");
        assert!(html.contains("&lt;b&gt;no&lt;/b&gt;"));
        assert!(html.contains("class=\"refusal\" role=\"alert\""));
        assert!(index("x", &["a<b".to_owned()]).contains("a&lt;b"));
    }

    proptest! {
        #[test]
        fn escaped_text_has_no_markup(text in "\\PC*") {
            let e = escape(&text);
            prop_assert!(!e.contains(['<', '>', '"', '\'']));
            let unescaped = e
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&amp;", "&");
            prop_assert_eq!(unescaped, text);
        }
    }
}
