// The administration's edit form: shows only the settings of the chosen device kind (the server reads only
// those), and copies Monday's opening hours to Tuesday–Friday. Without JS every field stays visible and works.
const form = document.getElementById("edit-form");

function showKind(kind) {
  for (const element of form.querySelectorAll("[data-kinds]")) {
    element.hidden = !element.dataset.kinds.split(" ").includes(kind);
  }
  for (const fieldset of form.querySelectorAll("fieldset[data-kind]")) {
    fieldset.hidden = fieldset.dataset.kind !== kind;
  }
}

function copyMonday() {
  for (let day = 1; day <= 4; day += 1) {
    for (const input of form.querySelectorAll('tr[data-day="0"] input')) {
      const name = input.name.replace(/-0-(\d)-(from|to)$/, `-${day}-$1-$2`);
      const target = form.querySelector(`input[name="${name}"]`);
      if (target) target.value = input.value;
    }
  }
}

if (form) {
  const kind = form.querySelector('select[name="kind"]');
  if (kind && form.querySelector("fieldset[data-kind]")) {
    showKind(kind.value);
    kind.addEventListener("change", () => showKind(kind.value));
  }
  const copy = form.querySelector("[data-copy-monday]");
  if (copy) copy.addEventListener("click", copyMonday);
}
