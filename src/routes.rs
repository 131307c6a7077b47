//! The route table: the whole URL scheme of Colabel on one screen. Fixed paths come first;
//! the account paths (`/{owner}`, `/{owner}/{dataset}`) last, which is why their first
//! segments are reserved words that no username may take.

use actix_web::web;

use crate::assets;
use crate::handlers::{accounts, home, settings};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/").route(web::get().to(home::home)))
        .service(web::resource("/healthz").route(web::get().to(home::healthz)))
        .service(web::resource("/static/{name}").route(web::get().to(assets::serve)))
        .service(
            web::resource("/signup")
                .route(web::get().to(accounts::signup_form))
                .route(web::post().to(accounts::signup)),
        )
        .service(
            web::resource("/login")
                .route(web::get().to(accounts::login_form))
                .route(web::post().to(accounts::login)),
        )
        .service(web::resource("/logout").route(web::post().to(accounts::logout)))
        .service(
            web::resource("/settings")
                .route(web::get().to(settings::profile_form))
                .route(web::post().to(settings::update)),
        );
}
