// The page of `lvwall serve`: upload a recording, follow its job, show its results.
// Everything it loads comes from this server (see the Content-Security-Policy header);
// text from the server is set as textContent, never parsed as HTML.
"use strict";

const POLL_MS = 300;
const $ = (id) => document.getElementById(id);
let currentJob = null; // the job whose results the page shows; older polls stop
let lastFile = null; // the recording last chosen: a change of the options analyses it again
let fps = 25;
// This server's token (in the page it served): every upload carries it.
const TOKEN = document.querySelector('meta[name="lvwall-token"]').content;

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function number(value, digits = 1, unit = "") {
  if (value === null || value === undefined) return "n/a";
  return value.toFixed(digits) + (unit ? " " + unit : "");
}

function megabytes(bytes) {
  return bytes >= 1e6 ? (bytes / 1e6).toFixed(1) + " MB" : Math.max(1, Math.round(bytes / 1e3)) + " kB";
}

function showError(sentence) {
  $("progress").hidden = true;
  $("error").textContent = sentence;
  $("error").hidden = false;
}

function showProgress(text, done, total) {
  $("progress").hidden = false;
  $("stage").textContent = text;
  const bar = $("bar");
  if (total) {
    bar.max = total;
    bar.value = Math.min(done, total);
  } else {
    bar.removeAttribute("value"); // indeterminate
  }
}

async function loadInfo() {
  const response = await fetch("/api/info");
  const info = await response.json();
  $("model").textContent = "model: " + info.model + " · lvwall " + info.version;
  $("limit").textContent = ", up to " + (info.max_upload_bytes / 1e6).toFixed(0) + " MB";
}

// The optional A2C recording of the same heart; with it the main recording is the A4C one.
function secondFile() {
  return $("a2c").files.length ? $("a2c").files[0] : null;
}

function showOptions() {
  const exam = secondFile() !== null;
  if (exam) $("view").value = "A4C";
  $("view").disabled = exam;
  $("a2c-clear").hidden = !exam;
}

async function analyse(file) {
  const job = {};
  currentJob = job;
  lastFile = file;
  $("error").hidden = true;
  $("results").hidden = true;
  $("overlay").removeAttribute("src");
  $("a2c-overlay").removeAttribute("src");
  const second = secondFile();
  showProgress("uploading " + file.name + (second ? " and " + second.name : ""), 0, 0);
  const form = new FormData();
  form.append("file", file);
  if ($("view").value) form.append("view", $("view").value);
  if (second) form.append("a2c", second);
  let response, body;
  try {
    // The token this server put into its page; "same-origin" sends the page's Origin
    // (the page's no-referrer policy would send "null", which the server refuses).
    response = await fetch("/api/jobs", {
      method: "POST",
      body: form,
      headers: { "X-Lvwall-Token": TOKEN },
      referrerPolicy: "same-origin",
    });
    body = await response.json();
  } catch (error) {
    if (currentJob === job) showError(file.name + ": the upload failed (" + error.message + ")");
    return;
  }
  if (currentJob !== job) return;
  if (!response.ok) {
    showError(body.error);
    return;
  }
  job.url = body.status_url;
  poll(job);
}

async function poll(job) {
  while (currentJob === job) {
    let status;
    try {
      status = await (await fetch(job.url)).json();
    } catch (error) {
      showError("the server stopped answering (" + error.message + ")");
      return;
    }
    if (currentJob !== job) return;
    if (status.state === "done") {
      $("progress").hidden = true;
      render(status.result);
      return;
    }
    if (status.state === "failed" || status.error) {
      showError(status.error || "the analysis failed");
      return;
    }
    if (status.state === "queued") {
      showProgress("waiting: " + status.position + " upload(s) ahead", 0, 0);
    } else {
      const count = status.total ? " " + status.done + " / " + status.total : "";
      showProgress(status.stage + count, status.done, status.total);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function facts(result) {
  const spacing = result.pixel_spacing_mm
    ? " · pixel " + result.pixel_spacing_mm.map((v) => v.toFixed(3)).join(" × ") + " mm"
    : " · pixel size unknown (volumes in px³)";
  return result.view + " view · " + result.frames + " frames · " + result.width + " × " +
    result.height + " px · " + result.fps.toFixed(1) + " frames/s" + spacing;
}

function viewPhrase(result) {
  if (result.view_source === "recognised") {
    return result.view + " (recognised, p = " + result.view_probability.toFixed(2) + ")";
  }
  return result.view + " (" + result.view_source + ")";
}

function render(result) {
  fps = result.fps;
  $("title").textContent = result.exam
    ? result.exam.name + ": " + result.name + " (A4C) and " + result.a2c.name + " (A2C)"
    : result.name;
  $("facts").textContent = facts(result) + " · " + viewPhrase(result);
  const views = result.exam ? " of the A4C view, single plane" : "";
  $("measurements-title").textContent = "Measurements" + views;
  $("segments-title").textContent = "Segments of the " + result.view + " view";
  renderViewer(result);
  renderQuality(result);
  renderMeasurements(result.measurements);
  renderExam(result);
  renderSegments(result);
  renderFigures(result.files);
  renderDownloads(result);
  $("results").hidden = false;
}

function renderViewer(result) {
  const video = $("overlay");
  video.src = result.files.overlay;
  video.play().catch(() => {}); // autoplay may be refused; the controls remain
  const slider = $("frame");
  slider.max = result.frames - 1;
  slider.value = 0;
  slider.oninput = () => {
    video.pause();
    video.currentTime = (Number(slider.value) + 0.5) / fps;
    showFrame(result, Number(slider.value));
  };
  video.ontimeupdate = () => {
    const index = Math.min(result.frames - 1, Math.floor(video.currentTime * fps));
    if (!video.paused) slider.value = index;
    showFrame(result, index);
  };
  renderLegend($("legend"), result.segment_colours);
  showFrame(result, 0);
}

function swatch(colour) {
  const node = element("span", null, "swatch");
  node.style.backgroundColor = colour;
  return node;
}

function renderLegend(legend, colours) {
  legend.replaceChildren();
  for (const [name, colour] of Object.entries(colours)) {
    const item = element("li", name);
    item.prepend(swatch(colour));
    legend.append(item);
  }
}

function qualityText(frame, checked) {
  if (!checked) return "quality not checked";
  const score = frame.quality === null ? "no score" : "quality " + frame.quality.toFixed(2);
  return frame.flags.length ? score + " · flagged: " + frame.flags.join(", ") : score;
}

function showFrame(result, index) {
  const quality = result.quality;
  $("frame-info").textContent =
    "frame " + (index + 1) + " / " + result.frames + " · " +
    qualityText(quality.frames[index], quality.checked);
  for (const item of $("quality").children) {
    item.classList.toggle("current", Number(item.dataset.index) === index);
  }
}

function renderQuality(result) {
  const quality = result.quality;
  $("quality-note").textContent = quality.checked
    ? result.flagged.length + " of " + result.frames + " frames flagged"
    : "quality not checked: no per-frame quality control ran on this recording";
  const list = $("quality");
  list.replaceChildren();
  for (const frame of quality.frames) {
    const item = element("li", null, frame.flags.length ? "flagged" : "");
    // Frames are numbered from 1 in every output; the slider counts from 0.
    item.dataset.index = frame.frame - 1;
    item.append(element("span", String(frame.frame), "index"));
    item.append(element("span", qualityText(frame, quality.checked)));
    item.onclick = () => {
      $("frame").value = frame.frame - 1;
      $("frame").oninput();
    };
    list.append(item);
  }
}

function interval(entry, digits) {
  return entry ? number(entry.low, digits) + " – " + number(entry.high, digits) : "";
}

function renderMeasurements(m) {
  const unit = m.volume_unit;
  $("interval-head").textContent = Math.round(100 * m.intervals.coverage) + "% interval";
  const rows = [
    ["ed_frame", "end-diastole (ED) frame", m.ed_frame === null ? "n/a" : String(m.ed_frame), null],
    ["es_frame", "end-systole (ES) frame", m.es_frame === null ? "n/a" : String(m.es_frame), null],
    ["ef_percent", "ejection fraction (EF)", number(m.ef_percent, 1, "%"), interval(m.intervals.ef_percent, 1)],
    ["gls_percent", "global longitudinal strain (GLS)", number(m.gls_percent, 1, "%"), interval(m.intervals.gls_percent, 1)],
    ["edv", "end-diastolic volume (EDV)", number(m.edv, unit === "ml" ? 1 : 0, unit), interval(m.intervals.edv, unit === "ml" ? 1 : 0)],
    ["esv", "end-systolic volume (ESV)", number(m.esv, unit === "ml" ? 1 : 0, unit), interval(m.intervals.esv, unit === "ml" ? 1 : 0)],
    ["area_length.ef_percent", "EF, area-length", number(m.area_length.ef_percent, 1, "%"), null],
  ];
  const body = $("measurements").tBodies[0];
  body.replaceChildren();
  for (const [key, label, value, range] of rows) {
    const row = element("tr");
    row.dataset.key = key;
    row.append(element("th", label), element("td", value, "value"), element("td", range || ""));
    row.append(element("td", m.missing[key] || "", "note"));
    body.append(row);
  }
  const notes = [];
  if (m.cycle) notes.push("cycle: frames " + m.cycle.first_frame + "–" + m.cycle.last_frame);
  if (m.missing.intervals) notes.push("no intervals: " + m.missing.intervals);
  if (!m.quality.checked) notes.push("quality not checked");
  $("measure-note").textContent = notes.join(" · ");
}

// A two-view exam: biplane numbers beside each view's own, the twelve segments, the exam
// figure and the A2C recording's overlay video.
function renderExam(result) {
  const exam = result.exam;
  $("exam").hidden = !exam;
  if (!exam) return;
  const biplane = exam.biplane;
  const single = exam.single_plane;
  const unit = exam.volume_unit;
  const digits = unit === "ml" ? 1 : 0;
  $("exam-title").textContent = "Two-view exam " + exam.name;
  $("exam-interval-head").textContent = Math.round(100 * biplane.intervals.coverage) + "% interval";
  const rows = [
    ["ef_percent", "ejection fraction (EF)", 1, "%"],
    ["edv", "end-diastolic volume (EDV)", digits, unit],
    ["esv", "end-systolic volume (ESV)", digits, unit],
  ];
  const body = $("exam-numbers").tBodies[0];
  body.replaceChildren();
  for (const [key, label, places, suffix] of rows) {
    const row = element("tr");
    row.dataset.key = key;
    row.append(element("th", label), element("td", number(biplane[key], places, suffix), "value"));
    row.append(element("td", interval(biplane.intervals[key], places)));
    for (const view of ["A4C", "A2C"]) row.append(element("td", number(single[view][key], places, suffix)));
    row.append(element("td", exam.missing[key] || "", "note"));
    body.append(row);
  }
  const gls = element("tr");
  gls.dataset.key = "gls_percent";
  gls.append(element("th", "global longitudinal strain (GLS)"));
  gls.append(element("td", number(exam.gls_percent, 1, "%"), "value"), element("td", ""));
  for (const view of ["A4C", "A2C"]) gls.append(element("td", number(single[view].gls_percent, 1, "%")));
  gls.append(element("td", exam.gls_percent === null ? "needs the GLS of both views" : "mean of the two views", "note"));
  body.append(gls);
  const notes = ["biplane: method of discs from both views' ED and ES borders"];
  if (exam.missing.intervals) notes.push("no intervals: " + exam.missing.intervals);
  $("exam-note").textContent = notes.join(" · ");

  const colours = { ...result.segment_colours, ...result.a2c.segment_colours };
  const segments = $("exam-segments").tBodies[0];
  segments.replaceChildren();
  for (const [name, segment] of Object.entries(exam.segments)) {
    const row = element("tr");
    row.dataset.segment = name;
    const cell = element("td");
    cell.append(swatch(colours[name]));
    row.append(cell, element("td", name + " " + segment.title), element("td", segment.view));
    row.append(element("td", number(segment.strain_percent, 1, "%")));
    row.append(element("td", interval(segment.interval, 1)));
    segments.append(row);
  }
  $("exam-figure").src = result.files.exam_figure;

  const a2c = result.a2c;
  $("a2c-title").textContent = "A2C view: " + a2c.name;
  const quality = a2c.quality.checked
    ? a2c.flagged.length + " of " + a2c.frames + " frames flagged by quality control"
    : "quality not checked";
  $("a2c-facts").textContent = facts(a2c) + " · " + quality;
  const video = $("a2c-overlay");
  video.src = result.files.a2c_overlay;
  video.play().catch(() => {}); // autoplay may be refused; the controls remain
  renderLegend($("a2c-legend"), a2c.segment_colours);
}

function renderSegments(result) {
  const m = result.measurements;
  const regional = result.regional;
  const rows = new Map((regional.segments || []).map((row) => [row.segment, row]));
  const scoreKey = "score_" + regional.score;
  const columns = ["", "segment", "strain", "interval", "time to peak", "displacement",
    "inward", "thickening", regional.score + " score"];
  if (regional.thresholds) columns.push("threshold", "MI flag");
  const head = $("segments").tHead.rows[0];
  head.replaceChildren(...columns.map((name) => element("th", name)));
  const body = $("segments").tBodies[0];
  body.replaceChildren();
  for (const [name, segment] of Object.entries(m.segments)) {
    const motion = rows.get(name);
    const row = element("tr");
    row.dataset.segment = name;
    const cell = element("td");
    cell.append(swatch(result.segment_colours[name]));
    row.append(cell, element("td", name + " " + segment.title));
    row.append(element("td", number(segment.strain_percent, 1, "%")));
    row.append(element("td", interval(m.intervals.segments[name], 1)));
    row.append(element("td", segment.time_to_peak_frame === null ? "n/a" : "frame " + segment.time_to_peak_frame));
    row.append(element("td", motion ? number(motion.max_displacement_pct_long_axis, 1, "%") : "n/a"));
    row.append(element("td", motion ? number(motion.max_inward_pct_long_axis, 1, "%") : "n/a"));
    row.append(element("td", motion ? number(motion.max_thickening_pct, 0, "%") : "n/a"));
    row.append(element("td", motion ? number(motion[scoreKey], 4) : "n/a"));
    if (regional.thresholds) {
      row.append(element("td", motion ? number(motion.threshold, 4) : "n/a"));
      const flagged = motion && motion.hypokinetic;
      row.append(element("td", motion ? (flagged ? "hypokinetic (possible MI)" : "no") : "n/a", flagged ? "mi" : ""));
    }
    body.append(row);
  }
  const notes = [];
  if (regional.error) notes.push("regional analysis: " + regional.error);
  else notes.push("motion over frames " + regional.first_frame + "–" + regional.last_frame +
    (regional.cycle ? " (the measured cycle)" : " (the whole recording: no complete cycle)") +
    ", displacements in % of the LV long axis");
  if (regional.held_frames && regional.held_frames.length) {
    notes.push("frames " + regional.held_frames.join(", ") + " could not be split and reuse the previous split");
  }
  if (!regional.thresholds) notes.push("no MI flags: " + regional.no_flags_reason);
  $("regional-note").textContent = notes.join(" · ");
}

// The figures shown, by their key in the result's files; wide ones span the page.
const FIGURES = [
  ["measure_figure", "Volumes, strain over the cycle and segmental strain", true],
  ["regional_motion_png", "Segment motion over the cycle", true],
  ["regional_diagram", "Segment motion scores", false],
  ["regional_overlay", "The six segments on the first frame of the cycle", false],
];

function renderFigures(files) {
  const figures = $("figures");
  figures.replaceChildren();
  for (const [key, caption, wide] of FIGURES) {
    if (!files[key]) continue;
    const figure = element("figure", null, wide ? "wide" : "");
    const image = element("img");
    image.src = files[key];
    image.alt = caption;
    figure.append(image, element("figcaption", caption));
    figures.append(figure);
  }
}

function renderDownloads(result) {
  $("archive").href = result.archive;
  const list = $("downloads");
  list.replaceChildren();
  for (const file of result.downloads) {
    const item = element("li");
    const link = element("a", file.path);
    link.href = file.url;
    link.download = file.path.split("/").pop();
    item.append(link, element("span", " " + megabytes(file.bytes), "note"));
    list.append(item);
  }
}

function setUp() {
  const drop = $("drop");
  const input = $("file");
  const again = () => {
    showOptions();
    if (lastFile) analyse(lastFile);
  };
  $("view").addEventListener("change", again);
  $("a2c").addEventListener("change", again);
  $("a2c-clear").addEventListener("click", () => {
    $("a2c").value = "";
    again();
  });
  showOptions();
  input.addEventListener("change", () => {
    if (input.files.length) analyse(input.files[0]);
    input.value = ""; // the same file can be chosen again
  });
  for (const name of ["dragenter", "dragover"]) {
    drop.addEventListener(name, (event) => {
      event.preventDefault();
      drop.classList.add("over");
    });
  }
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer.files.length) analyse(event.dataTransfer.files[0]);
  });
  loadInfo().catch((error) => showError("the server did not answer (" + error.message + ")"));
}

setUp();
