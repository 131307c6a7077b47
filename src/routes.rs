//! The route table: the whole URL scheme of Colabel on one screen. Fixed paths come first;
//! the account paths (`/{owner}`, `/{owner}/{dataset}`) last, which is why their first
//! segments are reserved words that no username may take (and dataset names cannot be
//! `settings`, `members`, ...). [`ROUTES`] lists every (method, path) pair, HEAD beside each
//! GET, so tests can check that each one is covered by the authorization matrix.

use actix_web::web;

use crate::html::{accounts, assets, datasets, home, orgs, profiles, settings};

macro_rules! route_table {
    ($($path:literal => { $($method:ident $handler:expr),+ $(,)? }),* $(,)?) => {
        /// Every (method, path pattern) the application answers; each GET answers HEAD too.
        pub const ROUTES: &[(&str, &str)] = route_table!(@list [] $($($method $path,)+)*);

        /// Registers every route; one resource per path, one route per method (and HEAD,
        /// by the same handler, beside each GET: actix sends its headers without the body).
        pub fn routes(cfg: &mut web::ServiceConfig) {
            $(
                let resource = web::resource($path);
                $(let resource = route_table!(@route resource $method $handler);)+
                cfg.service(resource);
            )*
        }
    };
    (@list [$($done:tt)*]) => { &[$($done)*] };
    (@list [$($done:tt)*] GET $path:literal, $($rest:tt)*) => {
        route_table!(@list [$($done)* ("GET", $path), ("HEAD", $path),] $($rest)*)
    };
    (@list [$($done:tt)*] $method:ident $path:literal, $($rest:tt)*) => {
        route_table!(@list [$($done)* (stringify!($method), $path),] $($rest)*)
    };
    (@route $r:ident GET $handler:expr) => {
        $r.route(web::get().to($handler)).route(web::head().to($handler))
    };
    (@route $r:ident POST $handler:expr) => { $r.route(web::post().to($handler)) };
    (@route $r:ident PATCH $handler:expr) => { $r.route(web::patch().to($handler)) };
    (@route $r:ident DELETE $handler:expr) => { $r.route(web::delete().to($handler)) };
}

route_table! {
    "/" => { GET home::home },
    "/healthz" => { GET home::healthz },
    "/static/{name}" => { GET assets::serve },
    "/signup" => { GET accounts::signup_form, POST accounts::signup },
    "/login" => { GET accounts::login_form, POST accounts::login },
    "/logout" => { POST accounts::logout },
    "/settings" => { GET settings::profile_form, POST settings::update },
    "/settings/organizations" => { GET orgs::my_orgs },
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
