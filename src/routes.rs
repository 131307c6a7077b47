//! The route table: the whole URL scheme of Colabel on one screen.
//!
//! The JSON API comes first: the Segments.ai SDK's paths at the root of the origin (each
//! answered with and without its trailing slash, never redirected), then the HTML pages.
//! Fixed HTML paths come before the account paths (`/{owner}`, `/{owner}/{dataset}`), which
//! is why their first segments are reserved words that no username may take (and dataset
//! names cannot be `settings`, `members`, ...). [`ROUTES`] and [`API_ROUTES`] list every
//! (method, path) pair, HEAD beside each GET, so tests can check that each one is covered by
//! the authorization matrices.

use actix_web::middleware::from_fn;
use actix_web::web;

use crate::api;
use crate::html::{
    access, accounts, api_keys, assets, bulk_add, datasets, home, invitations, orgs, profiles,
    settings, webhooks,
};

macro_rules! route_table {
    ($($path:literal => { $($method:ident $handler:expr),+ $(,)? }),* $(,)?) => {
        /// Every (method, path pattern) of the HTML pages; each GET answers HEAD too.
        pub const ROUTES: &[(&str, &str)] = route_table!(@list [] $($($method $path,)+)*);

        /// Registers every HTML route; one resource per path, one route per method (and
        /// HEAD, by the same handler, beside each GET: actix sends its headers without the
        /// body).
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

macro_rules! api_table {
    ($($path:literal => { $($method:ident $handler:expr),+ $(,)? }),* $(,)?) => {
        /// Every (method, path) of the JSON API, as the SDK writes the path (each GET also
        /// answers HEAD, and every path OPTIONS).
        pub const API_ROUTES: &[(&str, &str)] = &[$($((stringify!($method), $path),)+)*];

        /// Registers every API resource, at its path with and without the trailing slash,
        /// with the API's middleware and JSON error answers.
        pub fn api_routes(cfg: &mut web::ServiceConfig) {
            $({
                let resource = web::resource(both_slashes($path));
                $(let resource = route_table!(@route resource $method $handler);)+
                let allow = allowed(&[$(stringify!($method)),+]);
                cfg.service(
                    resource
                        .default_service(web::to(api::method_not_allowed(allow)))
                        .app_data(api::query_config())
                        .app_data(api::path_config())
                        .wrap(from_fn(api::guard)),
                );
            })*
            // Every other address under the API's own paths (a dataset named without its
            // owner, `/datasets/abcde/`, an unknown endpoint): asks for the key, then JSON 404.
            for path in API_NAMESPACES {
                cfg.service(
                    web::resource(*path)
                        .wrap(from_fn(api::guard))
                        .to(api::no_such_endpoint),
                );
            }
        }
    };
}

/// The address spaces that belong to the API alone (no HTML page lives there): what no
/// endpoint answers in them gets the API's JSON 404, not an HTML page.
const API_NAMESPACES: &[&str] = &[
    "/api_status/{tail:.*}",
    "/user/{tail:.*}",
    "/users/{tail:.*}",
    "/datasets/{owner}/{tail:.*}",
    "/organizations/{org}/{tail:.+}",
];

/// `/a/b/` and `/a/b`: the SDK writes some paths with a trailing slash and some without.
fn both_slashes(path: &str) -> Vec<String> {
    let bare = path.trim_end_matches('/');
    vec![bare.to_string(), format!("{bare}/")]
}

/// The `Allow` header of a resource: its methods, `HEAD` with `GET`, and `OPTIONS`.
fn allowed(methods: &[&str]) -> String {
    let mut allow: Vec<&str> = methods.to_vec();
    if methods.contains(&"GET") {
        allow.push("HEAD");
    }
    allow.push("OPTIONS");
    allow.join(", ")
}

api_table! {
    "/api_status/" => { GET api::users::api_status },
    "/user" => { GET api::users::me },
    "/user/datasets/" => { GET api::datasets::mine, POST api::datasets::create_mine },
    "/user/organizations/{org}" => { DELETE api::orgs::leave },
    "/users/{name}" => { GET api::users::account },
    "/users/{name}/datasets/" => { GET api::datasets::of_account },
    "/organizations/{org}/datasets/" => { POST api::datasets::create_in_org },
    "/organizations/{org}/members/" => { GET api::orgs::members, POST api::orgs::add_member },
    "/organizations/{org}/members/{user}" => { GET api::orgs::member, PATCH api::orgs::change_member, DELETE api::orgs::remove_member },
    "/organizations/{org}/audit/" => { GET api::orgs::audit },
    "/organizations/{org}/webhooks/" => { GET api::webhooks::list_webhooks, POST api::webhooks::create_webhook },
    "/organizations/{org}/webhooks/{id}" => { GET api::webhooks::get_webhook, PATCH api::webhooks::update_webhook, DELETE api::webhooks::delete_webhook },
    "/organizations/{org}/webhooks/{id}/pings/" => { POST api::webhooks::ping_webhook },
    "/organizations/{org}/webhooks/{id}/deliveries/" => { GET api::webhooks::webhook_deliveries },
    "/organizations/{org}/webhooks/{id}/deliveries/{delivery}/redeliver" => { POST api::webhooks::redeliver_delivery },
    "/datasets/{owner}/{name}/" => { GET api::datasets::get, PATCH api::datasets::update, DELETE api::datasets::delete },
    "/datasets/{owner}/{name}/clone/" => { POST api::datasets::clone },
    "/datasets/{owner}/{name}/collaborators/" => { GET api::datasets::collaborators, POST api::datasets::add_collaborator },
    "/datasets/{owner}/{name}/access/" => { GET api::datasets::access },
    "/datasets/{owner}/{name}/collaborators/{user}" => { GET api::datasets::collaborator, PATCH api::datasets::change_collaborator, DELETE api::datasets::remove_collaborator },
}

route_table! {
    "/" => { GET home::home },
    "/healthz" => { GET home::healthz },
    "/static/{name}" => { GET assets::serve },
    "/api" => { GET crate::html::api_docs::reference },
    "/api/openapi.json" => { GET api::doc::openapi_json },
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
    "/settings/api-keys" => { GET api_keys::list, POST api_keys::create },
    "/settings/api-keys/{id}/revoke" => { POST api_keys::revoke },
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
    "/{org}/settings/members.csv" => { GET orgs::export_members },
    "/{org}/settings/bulk-members" => { GET orgs::bulk_confirm, POST orgs::bulk_apply },
    "/{org}/settings/apply-defaults" => { GET bulk_add::defaults_confirm, POST bulk_add::defaults_apply },
    "/{org}/settings/import-members/preview" => { POST bulk_add::import_preview },
    "/{org}/settings/import-members" => { POST bulk_add::import_apply },
    "/{org}/settings/members/invitations" => { POST orgs::invite },
    "/{org}/settings/members/invitations/{id}" => { POST orgs::manage_invitation },
    "/{org}/settings/members/{user}" => { POST orgs::update_member },
    "/{org}/settings/members/{user}/remove" => { GET orgs::confirm_remove, POST orgs::remove_member },
    "/{org}/settings/members/{user}/access" => { GET access::member_access },
    "/{org}/settings/audit" => { GET orgs::audit_log },
    "/{org}/settings/webhooks" => { GET webhooks::list, POST webhooks::create },
    "/{org}/settings/webhooks/{id}" => { GET webhooks::show, POST webhooks::act },
    // Dataset paths: /{owner}/{dataset}/...
    "/{owner}/{dataset}" => { GET datasets::show },
    "/{owner}/{dataset}/settings" => { GET datasets::settings, POST datasets::update_settings },
    "/{owner}/{dataset}/settings/collaborators" => { GET datasets::collaborators, POST datasets::add_collaborator },
    "/{owner}/{dataset}/settings/collaborators/{user}" => { POST datasets::change_collaborator },
    "/{owner}/{dataset}/settings/collaborators/{user}/remove" => { POST datasets::remove_collaborator },
    "/{owner}/{dataset}/settings/access" => { GET access::dataset_access },
}
