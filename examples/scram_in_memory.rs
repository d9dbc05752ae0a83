//! A complete SCRAM-SHA-256-PLUS login between `xmpp-sasl`'s client and server, in memory:
//! what a server embedding the crate does at registration and at each login.
//!
//! ```sh
//! cargo run -p chatrix-examples --example scram_in_memory
//! ```

use std::sync::Arc;

use xmpp_sasl::{
    ChannelBindingType, ChannelBindings, ClientChannelBinding, ClientOptions, ClientSession,
    ConnectionInfo, Mechanism, ScramHash, ServerConfig, ServerOffer, ServerStep, StoredCredentials,
    SystemRng,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = SystemRng::new();
    // Registration: only these keys are stored, never the password.
    let record = StoredCredentials::generate(ScramHash::Sha256, "correct horse", 4096, &mut rng)?;

    // One connection: the TLS layer provides the channel-binding data.
    let bindings = ChannelBindings {
        tls_exporter: Some(vec![7; 32]),
        tls_server_end_point: None,
    };
    let config = Arc::new(ServerConfig::new(b"a long and stable server secret")?);
    let offer = ServerOffer::new(config, ConnectionInfo::tls(bindings.clone()));
    println!("offered: {:?}", offer.mechanisms());

    let options = ClientOptions::new("juliet", "correct horse")
        .with_channel_binding(
            ClientChannelBinding::Bind(ChannelBindingType::TlsExporter),
            bindings,
        )
        .with_advertised(offer.advertised());
    let mut client = ClientSession::new(Mechanism::ScramSha256Plus, &options, &mut rng)?;
    let mut server = offer.start("SCRAM-SHA-256-PLUS", &mut rng)?;

    let step = server.handle_client_message(&client.initial_response()?)?;
    let ServerStep::NeedCredentials { username, .. } = step else {
        return Err("expected a credentials lookup".into());
    };
    println!("server looks up {username}");
    let ServerStep::Challenge(server_first) = server.provide_credentials(record)? else {
        return Err("expected a challenge".into());
    };
    let client_final = client.handle_challenge(&server_first)?;
    let ServerStep::Success {
        additional_data,
        authcid,
        ..
    } = server.handle_client_message(&client_final)?
    else {
        return Err("expected success".into());
    };
    client.handle_success(additional_data.as_deref())?;
    println!("{authcid} authenticated; the client verified the server too");
    Ok(())
}
