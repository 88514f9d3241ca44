// MathJax 3 configuration for pymdownx.arithmatex (generic mode), as in the Material for MkDocs docs,
// extended to the Markdown cells of the executed tutorials (mkdocs-jupyter), which keep $...$ as written.
// Only elements of these classes are typeset: a dollar sign anywhere else stays a dollar sign.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"], ["$", "$"]],
    displayMath: [["\\[", "\\]"], ["$$", "$$"]],
    processEscapes: true,
    processEnvironments: true
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex|mimflow-math"
  }
};

document$.subscribe(() => {
  // MathJax skips an element without a class (ignoreHtmlClass matches ""), so mark the text blocks of the
  // notebooks' Markdown cells explicitly.
  document.querySelectorAll(
    ".jp-MarkdownOutput :is(p, li, h1, h2, h3, h4, td, th, blockquote)"
  ).forEach((element) => element.classList.add("mimflow-math"))
  MathJax.startup.output.clearCache()
  MathJax.typesetClear()
  MathJax.texReset()
  MathJax.typesetPromise()
})
