//! The route table: the whole URL scheme of Colabel on one screen. Fixed paths come first;
//! the account paths (`/{owner}`, `/{owner}/{dataset}`) last, which is why their first
//! segments are reserved words that no username may take (and dataset names cannot be
//! `settings`, `members`, ...). [`ROUTES`] lists every (method, path) pair, so tests can
//! check that each one is covered by the authorization matrix.

use actix_web::web;

use crate::html::{accounts, assets, datasets, home, invitations, orgs, profiles, settings};

macro_rules! route_table {
    ($($path:literal => { $($method:ident $handler:expr),+ $(,)? }),* $(,)?) => {
        /// Every (method, path pattern) the application answers.
        pub const ROUTES: &[(&str, &str)] = &[$($((stringify!($method), $path),)+)*];

        /// Registers every route; one resource per path, one route per method.
        pub fn routes(cfg: &mut web::ServiceConfig) {
            $(cfg.service(web::resource($path)$(.route(route_table!(@$method).to($handler)))+);)*
        }
    };
    (@GET) => { web::get() };
    (@POST) => { web::post() };
    (@PATCH) => { web::patch() };
    (@DELETE) => { web::delete() };
}

route_table! {
    "/" => { GET home::home },
    "/healthz" => { GET home::healthz },
    "/static/{name}" => { GET assets::serve },
    "/signup" => { GET accounts::signup_form, POST accounts::signup },
    "/login" => { GET accounts::login_form, POST accounts::login },
    "/logout" => { POST accounts::logout },
    "/password/forgot" => { GET accounts::forgot_form, POST accounts::forgot },
    "/password/reset" => { GET accounts::reset_form, POST accounts::reset },
    "/email/verify" => { GET accounts::verify_form, POST accounts::verify },
    "/invitation" => { GET invitations::show, POST invitations::respond_by_token },
    "/settings" => { GET settings::profile_form, POST settings::update },
    "/settings/email/verify" => { POST settings::resend_verification },
    "/settings/organizations" => { GET orgs::my_orgs },
    "/settings/organizations/invitations/{id}" => { POST invitations::respond },
    "/settings/organizations/{org}/leave" => { GET orgs::confirm_leave, POST orgs::leave },
    "/organizations/new" => { GET orgs::new_form },
    "/organizations" => { POST orgs::create },
    "/datasets/new" => { GET datasets::new_form },
    "/datasets" => { POST datasets::create },
    // Account paths: /{owner}/...
    "/{owner}" => { GET profiles::show },
    "/{org}/members" => { GET orgs::members },
    "/{org}/settings" => { GET orgs::settings, POST orgs::update_settings },
    "/{org}/settings/members" => { GET orgs::manage_members, POST orgs::add_member },
    "/{org}/settings/members/invitations" => { POST orgs::invite },
    "/{org}/settings/members/invitations/{id}" => { POST orgs::manage_invitation },
    "/{org}/settings/members/{user}" => { POST orgs::update_member },
    "/{org}/settings/members/{user}/remove" => { GET orgs::confirm_remove, POST orgs::remove_member },
    "/{org}/settings/audit" => { GET orgs::audit_log },
    // Dataset paths: /{owner}/{dataset}/...
    "/{owner}/{dataset}" => { GET datasets::show },
    "/{owner}/{dataset}/settings" => { GET datasets::settings, POST datasets::update_settings },
    "/{owner}/{dataset}/settings/collaborators" => { GET datasets::collaborators, POST datasets::add_collaborator },
    "/{owner}/{dataset}/settings/collaborators/{user}" => { POST datasets::change_collaborator },
    "/{owner}/{dataset}/settings/collaborators/{user}/remove" => { POST datasets::remove_collaborator },
}
