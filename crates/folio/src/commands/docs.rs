//! `folio docs list` and `folio docs import`: the pipeline without a server.

use std::path::Path;
use std::sync::Arc;

use folio_core::Settings;
use folio_core::functions::{CreateRequest, QueryParams, create_pdf, put_image, query_documents};
use folio_core::images::ImageName;
use folio_core::ports::NoRenderer;
use folio_workers::InProcessRenderer;

use crate::args::{DocsImportArgs, DocsListArgs};
use crate::assets::load_images;
use crate::failure::Failure;
use crate::shape::{Deployment, storage};

/// Lists an identity's documents, newest first.
pub async fn list(args: &DocsListArgs) -> Result<(), Failure> {
    let data = Deployment::open(&args.settings, Arc::new(NoRenderer), Settings::default()).await?;
    let identity = data.identity(args.who.identity.as_deref(), args.who.subject.as_deref()).await?;
    let mut items = Vec::new();
    let mut cursor = None;
    loop {
        let params = QueryParams { limit: Some(100), cursor, q: args.title.clone() };
        let page =
            query_documents(&data.services.pipeline, &identity, &params).await.map_err(storage)?;
        items.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    if args.json {
        let json =
            serde_json::to_string_pretty(&items).map_err(|e| Failure::document(e.to_string()))?;
        println!("{json}");
    } else if items.is_empty() {
        eprintln!("no documents for identity {identity}");
    } else {
        for item in &items {
            println!("{}  {}  {:>4} p  {}", item.id, item.created, item.pages, item.title);
        }
    }
    Ok(())
}

/// Renders and stores each file through create-pdf, then indexes them; prints each id.
pub async fn import(args: &DocsImportArgs) -> Result<(), Failure> {
    let data = Deployment::open(
        &args.settings,
        Arc::new(InProcessRenderer::default()),
        Settings::default(),
    )
    .await?;
    let identity = data.identity(args.who.identity.as_deref(), args.who.subject.as_deref()).await?;
    eprintln!("importing as identity {identity}");
    let mut failed = 0;
    for file in &args.files {
        match import_one(&data, &identity, file).await {
            Ok(line) => println!("{line}"),
            Err(failure) => {
                failed += 1;
                failure.print();
            }
        }
    }
    // Index now, so the documents are listed when the command returns.
    data.deliver_events().await?;
    if failed > 0 {
        return Err(Failure::document(format!("{failed} of {} files failed", args.files.len())));
    }
    Ok(())
}

async fn import_one(
    data: &Deployment,
    identity: &folio_core::IdentityId,
    file: &Path,
) -> Result<String, Failure> {
    let name = file.display().to_string();
    let bytes =
        std::fs::read(file).map_err(|e| Failure::document(format!("cannot read {name}: {e}")))?;
    let markdown = folio_render::decode_markdown(&bytes)
        .map_err(|e| Failure::document(format!("{name}: {e}")))?
        .to_owned();
    let base = file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let (assets, _) = load_images(&markdown, base);
    let pipeline = &data.services.pipeline;
    // The images beside it go into the owner's library too, named by their file name, so the
    // web app can show and reuse them (the document keeps its own copy either way).
    for (reference, bytes) in &assets {
        let file_name = reference.rsplit('/').next().unwrap_or(reference);
        let Some(label) = ImageName::from_reference(file_name) else { continue };
        let added = put_image(pipeline, identity, label.as_str(), bytes.clone().into(), None).await;
        match added {
            Ok(info) => eprintln!("{name}: image {:?} is in the library", info.name.as_str()),
            Err(err) => eprintln!(
                "warning: {name}: the image {reference:?} was not added to the library: {err}"
            ),
        }
    }
    let request = CreateRequest { markdown, assets, ..Default::default() };
    let created = create_pdf(pipeline, identity, request)
        .await
        .map_err(|e| Failure::document(format!("{name}: {e}")))?;
    for warning in &created.warnings {
        eprintln!("warning: {name}: {warning}");
    }
    Ok(format!("{}\t{}\t{}", created.document.id, name, created.document.title))
}
