//! The route table: the whole URL scheme of Colabel on one screen. Fixed paths come first;
//! the account paths (`/{owner}`, `/{owner}/{dataset}`) last, which is why their first
//! segments are reserved words that no username may take.

use actix_web::web;

use crate::assets;
use crate::handlers::{accounts, datasets, home, orgs, profiles, settings};

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
        )
        .service(web::resource("/settings/organizations").route(web::get().to(orgs::my_orgs)))
        .service(
            web::resource("/settings/organizations/{org}/leave")
                .route(web::get().to(orgs::confirm_leave))
                .route(web::post().to(orgs::leave)),
        )
        .service(web::resource("/organizations/new").route(web::get().to(orgs::new_form)))
        .service(web::resource("/organizations").route(web::post().to(orgs::create)))
        .service(web::resource("/datasets/new").route(web::get().to(datasets::new_form)))
        .service(web::resource("/datasets").route(web::post().to(datasets::create)))
        // Account paths: /{owner}/...
        .service(web::resource("/{owner}").route(web::get().to(profiles::show)))
        .service(web::resource("/{org}/members").route(web::get().to(orgs::members)))
        .service(
            web::resource("/{org}/settings")
                .route(web::get().to(orgs::settings))
                .route(web::post().to(orgs::update_settings)),
        )
        .service(
            web::resource("/{org}/settings/members")
                .route(web::get().to(orgs::manage_members))
                .route(web::post().to(orgs::add_member)),
        )
        .service(
            web::resource("/{org}/settings/members/{user}")
                .route(web::post().to(orgs::update_member)),
        )
        .service(
            web::resource("/{org}/settings/members/{user}/remove")
                .route(web::get().to(orgs::confirm_remove))
                .route(web::post().to(orgs::remove_member)),
        )
        .service(web::resource("/{org}/settings/audit").route(web::get().to(orgs::audit_log)))
        // Dataset paths: /{owner}/{dataset}/... (dataset names cannot be `members`, `settings`, ...).
        .service(web::resource("/{owner}/{dataset}").route(web::get().to(datasets::show)))
        .service(
            web::resource("/{owner}/{dataset}/settings")
                .route(web::get().to(datasets::settings))
                .route(web::post().to(datasets::update_settings)),
        )
        .service(
            web::resource("/{owner}/{dataset}/settings/collaborators")
                .route(web::get().to(datasets::collaborators))
                .route(web::post().to(datasets::add_collaborator)),
        )
        .service(
            web::resource("/{owner}/{dataset}/settings/collaborators/{user}")
                .route(web::post().to(datasets::change_collaborator)),
        )
        .service(
            web::resource("/{owner}/{dataset}/settings/collaborators/{user}/remove")
                .route(web::post().to(datasets::remove_collaborator)),
        );
}
