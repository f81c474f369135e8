// Front door of embed_local: the "local-hashing" embedder of the embedded default.
#include "hashing_embedder.hpp"
#include "mx/plugin.hpp"

MX_PLUGIN("embed_local", "0.1.0", "Deterministic local embedder (feature hashing; no model download)") {
  mx::Factory<mx::Embedder> factory;
  factory.name = "local-hashing";
  factory.description = "hashed word and character n-grams: lexical similarity, not semantics";
  factory.schema = mx::ConfigSchema().optional("dimensions", mx::ConfigType::Integer, 256, "vector size");
  factory.validate = [](const mx::Json& c) -> mx::Status {
    int64_t d = c["dimensions"];
    if (d < 16 || d > 4096) return mx::invalidArgumentError("dimensions must be between 16 and 4096");
    return mx::Status::ok();
  };
  factory.create = [validate = factory.validate](mx::ComponentContext& context) -> mx::Result<std::unique_ptr<mx::Embedder>> {
    MX_RETURN_IF_ERROR(validate(context.config()));
    return std::unique_ptr<mx::Embedder>(std::make_unique<mx::local::HashingEmbedder>(context.config()["dimensions"].get<int>()));
  };
  return registrar.addEmbedder(std::move(factory));
}
