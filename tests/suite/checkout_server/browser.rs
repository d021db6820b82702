//! The checkout pages in headless Chromium, driven over WebDriver by `chromedriver`, on a
//! phone-sized screen: a bad number, a wrong PIN, a wrong code, then the payment. Screenshots
//! go to `target/screenshots/`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`bash scripts/test` installs them); without
//! them the test fails and says so.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use super::support::{PIN, TestServer, WRONG_PIN, code_in_outbox, other_code};

type Failure = Box<dyn std::error::Error>;

/// The first of `candidates` that exists, or a failure naming the package to install.
fn installed(candidates: &[&str], package: &str) -> PathBuf {
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
        .unwrap_or_else(|| {
            panic!(
                "{} not found: the browser test needs Debian's chromium and chromium-driver \
                 (apt-get install chromium chromium-driver; bash scripts/test installs them)",
                package
            )
        })
}

/// A `chromedriver` process on a free port, killed when dropped.
struct Chromedriver {
    child: Child,
    port: u16,
}

impl Chromedriver {
    fn start() -> Self {
        let binary = installed(
            &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"],
            "chromedriver",
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver did not start");
        let driver = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Headless Chromium as a 390 × 844 phone, without the sandbox (CI runs as root).
async fn browser(driver: &Chromedriver) -> Client {
    let chromium = installed(
        &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
        "chromium",
    );
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=390,844", "--lang=fr-FR"],
            "mobileEmulation": {
                "deviceMetrics": { "width": 390, "height": 844, "pixelRatio": 2.0, "touch": true }
            }
        }),
    );
    ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("chromedriver could not start chromium")
}

fn screenshots() -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap();
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What one browser session saw.
struct Visit<'a> {
    client: &'a Client,
    server: &'a TestServer,
    shots: PathBuf,
    sources: Vec<String>,
}

impl Visit<'_> {
    async fn open(&mut self, path: &str) -> Result<(), Failure> {
        self.client
            .goto(&format!("{}{path}", self.server.url))
            .await?;
        Ok(())
    }

    async fn fill(&self, field: &str, text: &str) -> Result<(), Failure> {
        let input = self.client.find(Locator::Css(field)).await?;
        input.clear().await?;
        input.send_keys(text).await?;
        Ok(())
    }

    /// Clicks the main form's button and waits for the next page.
    async fn submit(&mut self) -> Result<(), Failure> {
        let old_page = self.client.find(Locator::Css("html")).await?;
        self.client
            .find(Locator::Css("form.card button[type=submit]"))
            .await?
            .click()
            .await?;
        // The next page has arrived when the old one's elements are gone.
        let deadline = Instant::now() + Duration::from_secs(10);
        while old_page.tag_name().await.is_ok() {
            if Instant::now() > deadline {
                return Err("the form led to no new page".into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css("footer"))
            .await?;
        self.sources.push(self.client.source().await?);
        Ok(())
    }

    /// The visible text of the page, which must contain every one of `expected`.
    async fn shows(&self, expected: &[&str]) -> Result<String, Failure> {
        let text = self.client.find(Locator::Css("body")).await?.text().await?;
        for wanted in expected {
            if !text.contains(wanted) {
                return Err(format!("{wanted:?} not on the page:\n{text}").into());
            }
        }
        Ok(text)
    }

    async fn shot(&self, name: &str) -> Result<(), Failure> {
        let png = self.client.screenshot().await?;
        std::fs::write(self.shots.join(format!("{name}.png")), png)?;
        Ok(())
    }

    /// The whole checkout; the payment's id.
    async fn pay(&mut self) -> Result<String, Failure> {
        self.open("/").await?;
        self.shows(&["Votre commande", "49,90 €"]).await?;
        self.shot("1-commande").await?;
        self.client
            .find(Locator::LinkText("Payer avec mon mobile"))
            .await?
            .click()
            .await?;

        self.fill("#phone", "12").await?;
        self.fill("#pin", PIN).await?;
        self.submit().await?;
        self.shows(&["numéro de mobile n'est pas valide"]).await?;

        self.fill("#phone", "06 12 34 56 78").await?;
        self.fill("#pin", WRONG_PIN).await?;
        self.submit().await?;
        self.shows(&["Code confidentiel incorrect", "Il vous reste 2 essais"])
            .await?;
        self.shot("2-code-confidentiel-incorrect").await?;

        self.fill("#pin", PIN).await?;
        self.submit().await?;
        self.shows(&[
            "Code reçu par SMS",
            "+33 6 •• •• •• 78",
            "Il vous reste 3 essais",
            "Code valable encore",
        ])
        .await?;
        let url = self.client.current_url().await?;
        let id = url.path().trim_start_matches("/payments/").to_owned();

        self.open("/dev/sms").await?;
        self.shot("3-sms").await?;
        let outbox = self.client.source().await?;
        let code = code_in_outbox(&outbox, &id).ok_or("no SMS in the outbox")?;
        self.open(&format!("/payments/{id}")).await?;

        self.fill("#code", &other_code(&code)).await?;
        self.submit().await?;
        self.shows(&["Code incorrect. Il vous reste 2 essais."])
            .await?;
        self.shot("4-code-sms").await?;

        self.fill("#code", &code).await?;
        self.submit().await?;
        self.shows(&["Paiement accepté", "49,90 €", "DEMO-"])
            .await?;
        self.shot("5-recu").await?;

        for source in &self.sources {
            for secret in [PIN, code.as_str(), "612345678"] {
                if source.contains(secret) {
                    return Err(format!("{secret:?} is on a page:\n{source}").into());
                }
            }
        }
        Ok(id)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyer_pays_in_a_browser() {
    let server = TestServer::start().await;
    let driver = Chromedriver::start();
    let client = browser(&driver).await;
    let mut visit = Visit {
        client: &client,
        server: &server,
        shots: screenshots(),
        sources: Vec::new(),
    };
    let paid = visit.pay().await;
    let _ = client.close().await;
    drop(driver);
    let id = paid.unwrap();
    assert_eq!(server.ledger(&id).await, [("debited".to_owned(), 1)]);
    server.finish().await;
}
